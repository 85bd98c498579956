import type { ConnectorContext } from '../core/backend';
import { SreBackendError, SreError, SreInvalidInputError } from '../core/errors';
import { assertKey } from '../core/resource-id';
import { AccessCandidate, type Level } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { READ, SecureService, WRITE, type SecureServiceDeps } from '../security/secure-service';
import type {
  CodeBackend,
  CodeConfig,
  CodeDeployment,
  CodeExecutionResult,
  CodeInput,
  CodePreparation,
  CodeScope,
} from './code.backend';

export type {
  CodeBackend,
  CodeConfig,
  CodeDeployment,
  CodeExecutionResult,
  CodeInput,
  CodePreparation,
  CodeScope,
} from './code.backend';
export { CODE_OPERATIONS } from './code.backend';

/** The operations of one candidate on its own code units. */
export interface CodeRequester {
  readonly candidate: AccessCandidate;
  /** Checks the code (main function, dependencies) without running it; problems come back in `errors`. Needs read. */
  prepare(uid: string, input: CodeInput, config?: CodeConfig): Promise<CodePreparation>;
  /**
   * Deploys the unit. Idempotent: the same code, input names and secrets do not redeploy; any change
   * does. Needs write.
   */
  deploy(uid: string, input: CodeInput, config?: CodeConfig): Promise<CodeDeployment>;
  /** Runs the code. Never throws: every failure (access, input, backend) is `success: false` with `errors`. Needs read. */
  execute(uid: string, input: CodeInput, config?: CodeConfig): Promise<CodeExecutionResult>;
  /** Runs a deployment with these inputs. Never throws, like `execute`. Needs read. */
  executeDeployment(
    uid: string,
    deploymentId: string,
    inputs: Record<string, unknown>,
    config?: CodeConfig,
  ): Promise<CodeExecutionResult>;
  listDeployments(uid: string, config?: CodeConfig): Promise<CodeDeployment[]>;
  /** The deployment, or `undefined` when it does not exist. Needs read. */
  getDeployment(uid: string, deploymentId: string, config?: CodeConfig): Promise<CodeDeployment | undefined>;
  /** Removes the deployment and what it created (function, role); a missing one is a no-op. Needs write. */
  deleteDeployment(uid: string, deploymentId: string, config?: CodeConfig): Promise<void>;
}

const UID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_DEPLOYMENT_ID_BYTES = 256;

/**
 * Running user code (serverless functions, sandboxes): what you inject. The original checked
 * nothing (W09); here a code unit belongs to the candidate that uses it, inside its team, and the
 * requester checks every call before the backend sees it.
 */
export class CodeService extends SecureService<CodeBackend> {
  constructor(backend: CodeBackend, context: ConnectorContext | undefined, deps: SecureServiceDeps) {
    super(backend, context, deps);
  }

  /** True when `candidate` holds every level in `levels` on the unit `teams/<team>/code/<role>/<id>/<uid>`. */
  async hasAccess(candidate: AccessCandidate, levels: Level | readonly Level[], resourceId: string): Promise<boolean> {
    return this.allows(candidate, levels, resourceId, this.aclOf(resourceId));
  }

  requester(candidate: AccessCandidate): CodeRequester {
    const open = async (uid: string, need: number): Promise<CodeScope> => {
      if (typeof uid !== 'string' || !UID.test(uid)) {
        throw new SreInvalidInputError("invalid code uid: use 1 to 64 letters, digits, '-' or '_'", this.source());
      }
      const team = await this.requireTeam(candidate);
      const id = `teams/${team}/code/${candidate.role}/${candidate.id}/${uid}`;
      await this.authorize(candidate, need, id, this.aclOf(id));
      return { team, owner: candidate, uid };
    };
    const deployment = (id: string) => assertKey(id, 'deployment id', this.source(), MAX_DEPLOYMENT_ID_BYTES);
    const run = async (produce: () => Promise<CodeExecutionResult>): Promise<CodeExecutionResult> => {
      try {
        const result = await produce();
        if (typeof result !== 'object' || result === null || typeof result.success !== 'boolean')
          throw new SreBackendError(`${this.label()}: the connector answered a run without its outcome`, this.source());
        return result;
      } catch (error) {
        const reported = error instanceof SreError ? error : this.wrap(error, 'running code');
        return { output: undefined, executionTime: 0, success: false, errors: [this.redact(reported.message)] };
      }
    };
    return {
      candidate,
      prepare: async (uid, input, config = {}) => {
        const [checked, options] = [this.checkInput(input), this.checkConfig(config)];
        const scope = await open(uid, READ);
        return this.call('preparing code', () => this.backend.prepareCode(scope, checked, options));
      },
      deploy: async (uid, input, config = {}) => {
        const [checked, options] = [this.checkInput(input), this.checkConfig(config)];
        const scope = await open(uid, WRITE);
        return this.call('deploying code', () => this.backend.deployCode(scope, checked, options));
      },
      execute: (uid, input, config = {}) =>
        run(async () => {
          const [checked, options] = [this.checkInput(input), this.checkConfig(config)];
          const scope = await open(uid, READ);
          return this.call('running code', () => this.backend.executeCode(scope, checked, options));
        }),
      executeDeployment: (uid, deploymentId, inputs, config = {}) =>
        run(async () => {
          deployment(deploymentId);
          const [checked, options] = [this.checkInputs(inputs), this.checkConfig(config)];
          const scope = await open(uid, READ);
          return this.call('running a deployment', () =>
            this.backend.executeCodeDeployment(scope, deploymentId, checked, options),
          );
        }),
      listDeployments: async (uid, config = {}) => {
        const options = this.checkConfig(config);
        const scope = await open(uid, READ);
        const found = await this.call('listing deployments', () => this.backend.listCodeDeployments(scope, options));
        if (!Array.isArray(found))
          throw new SreBackendError(
            `${this.label()}: the connector answered a list that is not an array`,
            this.source(),
          );
        return found;
      },
      getDeployment: async (uid, deploymentId, config = {}) => {
        deployment(deploymentId);
        const options = this.checkConfig(config);
        const scope = await open(uid, READ);
        return this.call('reading a deployment', () => this.backend.getCodeDeployment(scope, deploymentId, options));
      },
      deleteDeployment: async (uid, deploymentId, config = {}) => {
        deployment(deploymentId);
        const options = this.checkConfig(config);
        const scope = await open(uid, WRITE);
        await this.call('deleting a deployment', () => this.backend.deleteCodeDeployment(scope, deploymentId, options));
      },
    };
  }

  agent(id: string): CodeRequester {
    return this.requester(AccessCandidate.agent(id));
  }

  user(id: string): CodeRequester {
    return this.requester(AccessCandidate.user(id));
  }

  team(id: string): CodeRequester {
    return this.requester(AccessCandidate.team(id));
  }

  /**
   * A unit is owned by its candidate, named in its id `teams/<team>/code/<role>/<id>/<uid>`; an id of
   * any other shape names no unit, and nobody holds it (rather than leaving it to be claimed).
   */
  private aclOf(resourceId: string): ACL {
    const [teams, , code, role, id, uid, ...rest] = resourceId.split('/');
    if (
      teams !== 'teams' ||
      code !== 'code' ||
      !uid ||
      rest.length ||
      (role !== 'agent' && role !== 'user' && role !== 'team')
    )
      return new ACL();
    try {
      return new ACL().grant(AccessCandidate.of(role, id), 'owner');
    } catch {
      return new ACL();
    }
  }

  private checkInput(input: CodeInput): CodeInput {
    if (!input || typeof input !== 'object') throw this.invalid('the code input must be an object');
    if (typeof input.code !== 'string' || input.code.trim() === '')
      throw this.invalid('code must be a non-empty string');
    if (input.dependencies !== undefined && typeof input.dependencies !== 'string')
      throw this.invalid('dependencies must be a string');
    if (input.files !== undefined && !isStringRecord(input.files))
      throw this.invalid('files must map paths to strings');
    if (input.inputs !== undefined) this.checkInputs(input.inputs);
    return input;
  }

  private checkInputs(inputs: Record<string, unknown>): Record<string, unknown> {
    if (!isPlainObject(inputs)) throw this.invalid('inputs must be a plain object');
    return inputs;
  }

  private checkConfig(config: CodeConfig): CodeConfig {
    if (!isPlainObject(config)) throw this.invalid('the code config must be an object');
    if (config.runtime !== undefined && (typeof config.runtime !== 'string' || config.runtime === ''))
      throw this.invalid('runtime must be a non-empty string');
    if (
      config.timeout !== undefined &&
      !(typeof config.timeout === 'number' && Number.isFinite(config.timeout) && config.timeout > 0)
    )
      throw this.invalid('timeout must be a positive number of seconds');
    if (
      config.memoryLimit !== undefined &&
      !(typeof config.memoryLimit === 'number' && Number.isInteger(config.memoryLimit) && config.memoryLimit > 0)
    )
      throw this.invalid('memoryLimit must be a positive integer (MB)');
    if (config.environment !== undefined && !isStringRecord(config.environment))
      throw this.invalid('environment must map names to strings');
    return config;
  }

  private invalid(why: string): SreInvalidInputError {
    return new SreInvalidInputError(why, this.source());
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isPlainObject(value) && Object.values(value).every((item) => typeof item === 'string');
}

import { SreError, SreInvalidInputError } from '../core/errors';
import { assertKey } from '../core/resource-id';
import { AccessCandidate } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { READ, SecureConnector, WRITE } from '../security/secure-connector';

/**
 * The code to run: an ES module whose top level defines an async `main`; `main`'s parameter names
 * pick the values out of `inputs`. `{{KEY(NAME)}}` in the code names a Vault secret of the team.
 */
export interface CodeInput {
  code: string;
  /** Extra dependency declarations (connector-specific); never handed to a shell (W43). */
  dependencies?: string;
  /** Extra files next to the code, by relative path. */
  files?: Record<string, string>;
  /** Values passed to `main`, by parameter name; they travel as data, never as source text (W47). */
  inputs?: Record<string, unknown>;
}

/** How to run it. Connectors honour every field they can and say in their docs which they cannot (W46). */
export interface CodeConfig {
  runtime?: string;
  /** Seconds before a run is stopped. */
  timeout?: number;
  /** Megabytes. */
  memoryLimit?: number;
  /** Plain (non-secret) environment variables; secrets come from `{{KEY(NAME)}}`. */
  environment?: Record<string, string>;
  /** Connector-specific options. Credentials always come from the connector's own settings (W46). */
  platformConfig?: Record<string, unknown>;
}

export interface CodeExecutionResult {
  output: unknown;
  /** Milliseconds spent in `main` (0 when it never ran). */
  executionTime: number;
  logs?: string[];
  errors?: string[];
  success: boolean;
}

export interface CodePreparation {
  prepared: boolean;
  errors?: string[];
  warnings?: string[];
  metadata?: Record<string, unknown>;
}

export interface CodeDeployment {
  id: string;
  /** `deploying`, `deployed` or `failed`, or a connector-specific state. */
  status: string;
  runtime: string;
  createdAt: Date;
  lastUsed?: Date;
  lastUpdated?: Date;
}

/**
 * Whose code unit a backend call is about. Deployment names must be derived from all three (team,
 * owner, uid), never from the uid or the caller's id alone, so that two tenants cannot collide (W09).
 */
export interface CodeScope {
  readonly team: string;
  /** The candidate that owns the unit: only it may deploy, run, list or delete it. */
  readonly owner: AccessCandidate;
  /** The unit's id given by the caller (a component id, typically). */
  readonly uid: string;
}

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
 * Running user code (serverless functions, sandboxes): the contract, the injection token, and the
 * base class of every Code connector. The original checked nothing (W09); here a code unit belongs
 * to the candidate that uses it, inside its team, and the requester checks every call.
 */
export abstract class CodeService extends SecureConnector {
  // The backend. The scope is built from the candidate (never from arguments), inputs are validated
  // and access is checked before these run. A backend never logs inputs, outputs or secrets (W49),
  // bounds every wait (W44) and every run (time and memory, W48).

  protected abstract prepareCode(scope: CodeScope, input: CodeInput, config: CodeConfig): Promise<CodePreparation>;
  protected abstract deployCode(scope: CodeScope, input: CodeInput, config: CodeConfig): Promise<CodeDeployment>;
  /** May throw: the base turns any error into a failed result. */
  protected abstract executeCode(scope: CodeScope, input: CodeInput, config: CodeConfig): Promise<CodeExecutionResult>;
  /** May throw: the base turns any error into a failed result. */
  protected abstract executeCodeDeployment(
    scope: CodeScope,
    deploymentId: string,
    inputs: Record<string, unknown>,
    config: CodeConfig,
  ): Promise<CodeExecutionResult>;
  protected abstract listCodeDeployments(scope: CodeScope, config: CodeConfig): Promise<CodeDeployment[]>;
  protected abstract getCodeDeployment(
    scope: CodeScope,
    deploymentId: string,
    config: CodeConfig,
  ): Promise<CodeDeployment | undefined>;
  protected abstract deleteCodeDeployment(scope: CodeScope, deploymentId: string, config: CodeConfig): Promise<void>;

  /** A unit is owned by its candidate: the resource id is `teams/<team>/code/<role>/<id>/<uid>`. */
  protected getResourceACL(resourceId: string): ACL | undefined {
    const [, , , role, id] = resourceId.split('/');
    return role && id ? new ACL().grant(AccessCandidate.of(role as AccessCandidate['role'], id), 'owner') : undefined;
  }

  requester(candidate: AccessCandidate): CodeRequester {
    const open = async (uid: string, need: number): Promise<CodeScope> => {
      if (typeof uid !== 'string' || !UID.test(uid)) {
        throw new SreInvalidInputError("invalid code uid: use 1 to 64 letters, digits, '-' or '_'", this.source());
      }
      const team = await this.requireTeam(candidate);
      await this.authorize(candidate, need, `teams/${team}/code/${candidate.role}/${candidate.id}/${uid}`);
      return { team, owner: candidate, uid };
    };
    const deployment = (id: string) => assertKey(id, 'deployment id', this.source(), MAX_DEPLOYMENT_ID_BYTES);
    const run = async (produce: () => Promise<CodeExecutionResult>): Promise<CodeExecutionResult> => {
      try {
        return await produce();
      } catch (error) {
        const reported = error instanceof SreError ? error : this.wrap(error, 'running code');
        return { output: undefined, executionTime: 0, success: false, errors: [this.redact(reported.message)] };
      }
    };
    return {
      candidate,
      prepare: async (uid, input, config = {}) =>
        this.prepareCode(await open(uid, READ), this.checkInput(input), this.checkConfig(config)),
      deploy: async (uid, input, config = {}) =>
        this.deployCode(await open(uid, WRITE), this.checkInput(input), this.checkConfig(config)),
      execute: (uid, input, config = {}) =>
        run(async () => {
          const checked = this.checkInput(input);
          return this.executeCode(await open(uid, READ), checked, this.checkConfig(config));
        }),
      executeDeployment: (uid, deploymentId, inputs, config = {}) =>
        run(async () => {
          deployment(deploymentId);
          const checked = this.checkInputs(inputs);
          return this.executeCodeDeployment(await open(uid, READ), deploymentId, checked, this.checkConfig(config));
        }),
      listDeployments: async (uid, config = {}) =>
        this.listCodeDeployments(await open(uid, READ), this.checkConfig(config)),
      getDeployment: async (uid, deploymentId, config = {}) => {
        deployment(deploymentId);
        return this.getCodeDeployment(await open(uid, READ), deploymentId, this.checkConfig(config));
      },
      deleteDeployment: async (uid, deploymentId, config = {}) => {
        deployment(deploymentId);
        await this.deleteCodeDeployment(await open(uid, WRITE), deploymentId, this.checkConfig(config));
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

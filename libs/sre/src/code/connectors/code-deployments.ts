import { createHash } from 'node:crypto';
import { SreNotFoundError } from '../../core/errors';
import type {
  CodeBackend,
  CodeConfig,
  CodeDeployment,
  CodeExecutionResult,
  CodeInput,
  CodePreparation,
  CodeScope,
} from '../code.backend';

interface StoredDeployment {
  readonly deployment: CodeDeployment;
  readonly code: string;
}

/**
 * Deployments kept in memory, by unit (team, owner and uid: W09) then by id, for the Code backends
 * that run code on this host (`ECMASandbox`, `MemoryCodeBackend`). A deployment's id is the uid and
 * a hash of its content: the same code, dependencies, files, input names and runtime are the same
 * deployment; any change is a new one. Callers get copies.
 */
export class CodeDeployments {
  private readonly units = new Map<string, Map<string, StoredDeployment>>();

  deploy(scope: CodeScope, input: CodeInput, config: CodeConfig): CodeDeployment {
    const runtime = config.runtime ?? 'nodejs';
    const content = JSON.stringify([
      input.code,
      input.dependencies ?? '',
      Object.entries(input.files ?? {}).sort(),
      Object.keys(input.inputs ?? {}).sort(),
      runtime,
    ]);
    const id = `${scope.uid}-${createHash('sha256').update(content).digest('hex').slice(0, 16)}`;
    const unit = this.unit(scope, true)!;
    let stored = unit.get(id);
    if (!stored) {
      stored = { deployment: { id, status: 'deployed', runtime, createdAt: new Date() }, code: input.code };
      unit.set(id, stored);
    }
    return { ...stored.deployment };
  }

  /** The code of a deployment of this scope, marked as used now; `undefined` when it does not exist. */
  use(scope: CodeScope, deploymentId: string): string | undefined {
    const stored = this.unit(scope)?.get(deploymentId);
    if (!stored) return undefined;
    (stored.deployment as { lastUsed?: Date }).lastUsed = new Date();
    return stored.code;
  }

  list(scope: CodeScope): CodeDeployment[] {
    return [...(this.unit(scope)?.values() ?? [])].map((stored) => ({ ...stored.deployment }));
  }

  get(scope: CodeScope, deploymentId: string): CodeDeployment | undefined {
    const stored = this.unit(scope)?.get(deploymentId);
    return stored && { ...stored.deployment };
  }

  delete(scope: CodeScope, deploymentId: string): void {
    this.unit(scope)?.delete(deploymentId);
  }

  private unit(scope: CodeScope, create = false): Map<string, StoredDeployment> | undefined {
    const key = JSON.stringify([scope.team, scope.owner.role, scope.owner.id, scope.uid]);
    let unit = this.units.get(key);
    if (!unit && create) this.units.set(key, (unit = new Map()));
    return unit;
  }
}

/**
 * The deployment operations of a Code backend that runs code on this host (`ECMASandbox`,
 * `MemoryCodeBackend`), kept in `CodeDeployments`: each backend supplies only how it checks and runs code.
 */
export abstract class HostCodeBackend implements CodeBackend {
  private readonly deployments = new CodeDeployments();

  abstract connect(): Promise<void>;
  abstract disconnect(): Promise<void>;
  abstract prepareCode(scope: CodeScope, input: CodeInput, config: CodeConfig): Promise<CodePreparation>;
  /** Runs `code` with `inputs`. */
  protected abstract run(
    code: string,
    inputs: Record<string, unknown>,
    config: CodeConfig,
  ): Promise<CodeExecutionResult>;

  async deployCode(scope: CodeScope, input: CodeInput, config: CodeConfig): Promise<CodeDeployment> {
    return this.deployments.deploy(scope, input, config);
  }

  executeCode(_scope: CodeScope, input: CodeInput, config: CodeConfig): Promise<CodeExecutionResult> {
    return this.run(input.code, input.inputs ?? {}, config);
  }

  async executeCodeDeployment(
    scope: CodeScope,
    deploymentId: string,
    inputs: Record<string, unknown>,
    config: CodeConfig,
  ): Promise<CodeExecutionResult> {
    const code = this.deployments.use(scope, deploymentId);
    if (code === undefined) throw new SreNotFoundError(`deployment '${deploymentId}' does not exist`);
    return this.run(code, inputs, config);
  }

  async listCodeDeployments(scope: CodeScope): Promise<CodeDeployment[]> {
    return this.deployments.list(scope);
  }

  async getCodeDeployment(scope: CodeScope, deploymentId: string): Promise<CodeDeployment | undefined> {
    return this.deployments.get(scope, deploymentId);
  }

  async deleteCodeDeployment(scope: CodeScope, deploymentId: string): Promise<void> {
    this.deployments.delete(scope, deploymentId);
  }
}

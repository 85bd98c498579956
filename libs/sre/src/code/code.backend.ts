import type { SreBackend } from '../core/backend';
import type { AccessCandidate } from '../security/access-candidate';

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

/**
 * What a Code connector implements: running and deploying the code units of one scope. The scope is
 * built by the service from the candidate (never from arguments), inputs are validated and access is
 * decided before these run. A backend derives every name it creates from the whole scope (W09),
 * never logs inputs, outputs or secrets (W49), bounds every wait (W44) and every run (time and
 * memory, W48), never hands dependencies to a shell (W43), passes inputs as data (W47), and uses its
 * own credentials for every call (W46). Runs may throw: the service turns any error into a failed result.
 */
export interface CodeBackend extends SreBackend {
  /** Checks the code without running it; problems come back in `errors`. */
  prepareCode(scope: CodeScope, input: CodeInput, config: CodeConfig): Promise<CodePreparation>;
  /** Deploys the unit; the same code, input names and secrets do not redeploy, any change does. */
  deployCode(scope: CodeScope, input: CodeInput, config: CodeConfig): Promise<CodeDeployment>;
  executeCode(scope: CodeScope, input: CodeInput, config: CodeConfig): Promise<CodeExecutionResult>;
  /** Runs a deployment of this scope; one that does not exist is an error (`SreNotFoundError`). */
  executeCodeDeployment(
    scope: CodeScope,
    deploymentId: string,
    inputs: Record<string, unknown>,
    config: CodeConfig,
  ): Promise<CodeExecutionResult>;
  /** The deployments of this scope only. */
  listCodeDeployments(scope: CodeScope, config: CodeConfig): Promise<CodeDeployment[]>;
  /** `undefined` when this scope has no deployment of that id. */
  getCodeDeployment(scope: CodeScope, deploymentId: string, config: CodeConfig): Promise<CodeDeployment | undefined>;
  /** Removes the deployment and what it created (function, role); a missing one is a no-op. */
  deleteCodeDeployment(scope: CodeScope, deploymentId: string, config: CodeConfig): Promise<void>;
}

/** Every operation of `CodeBackend` (a custom connector lacking one is refused at boot). */
export const CODE_OPERATIONS = [
  'prepareCode',
  'deployCode',
  'executeCode',
  'executeCodeDeployment',
  'listCodeDeployments',
  'getCodeDeployment',
  'deleteCodeDeployment',
] as const;

import * as path from 'node:path';
import * as vm from 'node:vm';
import type * as L from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import type { CacheService } from '../../cache/cache.service';
import type { AwsClientConfig } from '../../core/aws-client';
import { classifyAwsError, wrapAwsError } from '../../core/aws-errors';
import { awsServiceConfig, callOptions } from '../../core/aws-service';
import { createConnectorContext, labelOf, type ConnectorContext } from '../../core/backend';
import { SreBackendError, SreNotFoundError } from '../../core/errors';
import type { VaultService } from '../../vault/vault.service';
import type {
  CodeBackend,
  CodeConfig,
  CodeDeployment,
  CodeExecutionResult,
  CodeInput,
  CodePreparation,
  CodeScope,
} from '../code.backend';
import {
  contentHashOf,
  dependenciesOf,
  functionNameOf,
  handlerSourceOf,
  packageFilesOf,
  secretNamesOf,
} from './aws-lambda.bundle';

import { deploymentOf, resultOf } from './aws-lambda.results';
import { AWSLambdaSettings } from './aws-lambda.settings';

export { AWSLambdaSettings } from './aws-lambda.settings';

type Sdk = typeof L;
type Deps = { aws?: AwsClientConfig; cache?: CacheService; vault?: VaultService };

/** The original kept a deployment's hash 16 days in the Cache subsystem; so does this one. */
const HASH_TTL_SECONDS = 16 * 24 * 3600;
const MAIN = /^(?:export\s+)?(?:(?:async\s+)?function\s*\*?\s*main\s*\(|(?:const|let|var)\s+main\s*=)/m;
const ASYNC_MAIN = /^(?:export\s+)?(?:async\s+function\s*main\s*\(|(?:const|let|var)\s+main\s*=\s*async\b)/m;

/**
 * Code units as AWS Lambda functions, one per unit, named from team, owner and uid (W09) within
 * 64 characters. A deploy zips `main` and its handler (fflate) with the dependencies bundled from
 * `packagesDir` (never installed through a shell, W43), and creates or updates the function only
 * when the content hash changed (kept in the Cache subsystem, and in the function's description).
 * Vault secrets travel per invocation in the client context, never in the function's environment
 * (W45). Every wait is bounded (W44); delete deletes (W46).
 */
export class AWSLambdaConnector implements CodeBackend {
  static readonly connectorName = 'AWSLambda';
  static readonly settingsClass = AWSLambdaSettings;

  private readonly sdk: Sdk;
  private readonly client: L.LambdaClient;
  private readonly deploying = new Map<string, Promise<CodeDeployment>>();

  constructor(
    private readonly settings: AWSLambdaSettings,
    private readonly context: ConnectorContext<Deps> = createConnectorContext({
      subsystem: 'Code',
      connector: 'AWSLambda',
    }),
  ) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the SDK loads only when configured
    this.sdk = require('@aws-sdk/client-lambda') as Sdk;
    this.client = new this.sdk.LambdaClient(awsServiceConfig(settings, context.deps.aws));
  }

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {
    this.client.destroy();
  }

  async prepareCode(_scope: CodeScope, input: CodeInput): Promise<CodePreparation> {
    try {
      // module syntax aside (imports dropped, `export` unwrapped), the code must parse as a script
      const script = input.code.replace(/^\s*import\b.*$/gm, '').replace(/^(\s*)export\s+(default\s+)?/gm, '$1');
      new vm.Script(script, { filename: 'index.mjs' });
    } catch (error) {
      return { prepared: false, errors: [`Failed to parse code: ${(error as Error).message}`] };
    }
    if (!MAIN.test(input.code)) return { prepared: false, errors: ['No main function found at root level'] };
    if (!ASYNC_MAIN.test(input.code)) return { prepared: false, errors: ['Main function exists but is not async'] };
    const { names, invalid } = dependenciesOf(input);
    if (invalid.length) return { prepared: false, errors: [`invalid package names: ${invalid.join(', ')}`] };
    const { missing } = packageFilesOf(names, this.packagesDir());
    if (missing.length)
      return { prepared: false, errors: [`dependencies not installed in packagesDir: ${missing.join(', ')}`] };
    return { prepared: true, metadata: { dependencies: names, secrets: secretNamesOf(input.code) } };
  }

  deployCode(scope: CodeScope, input: CodeInput, config: CodeConfig): Promise<CodeDeployment> {
    const name = functionNameOf(this.settings.functionPrefix ?? 'sre-', scope);
    // one deploy of a function at a time in this process; the others wait for it and re-check
    const previous = this.deploying.get(name) ?? Promise.resolve(undefined as never);
    const next = previous.catch(() => undefined).then(() => this.deployOnce(name, scope, input, config));
    this.deploying.set(name, next);
    void next.finally(() => this.deploying.get(name) === next && this.deploying.delete(name)).catch(() => undefined);
    return next;
  }

  async executeCode(scope: CodeScope, input: CodeInput, config: CodeConfig): Promise<CodeExecutionResult> {
    const deployment = await this.deployCode(scope, input, config);
    return this.invoke(scope, deployment.id, input.inputs ?? {}, secretNamesOf(input.code));
  }

  async executeCodeDeployment(
    scope: CodeScope,
    id: string,
    inputs: Record<string, unknown>,
  ): Promise<CodeExecutionResult> {
    const found = await this.describe(this.own(scope, id));
    if (!found) throw new SreNotFoundError(`deployment '${id}' does not exist`);
    return this.invoke(scope, id, inputs, found.secrets);
  }

  async listCodeDeployments(scope: CodeScope): Promise<CodeDeployment[]> {
    const found = await this.describe(functionNameOf(this.settings.functionPrefix ?? 'sre-', scope));
    return found ? [found.deployment] : [];
  }

  async getCodeDeployment(scope: CodeScope, id: string): Promise<CodeDeployment | undefined> {
    const name = this.own(scope, id);
    return name ? (await this.describe(name))?.deployment : undefined;
  }

  async deleteCodeDeployment(scope: CodeScope, id: string): Promise<void> {
    const name = this.own(scope, id);
    if (!name) return;
    try {
      await this.send('DeleteFunction', name, new this.sdk.DeleteFunctionCommand({ FunctionName: name }));
    } catch (error) {
      if (classifyAwsError((error as { cause?: unknown }).cause) !== 'not-found') throw error;
    }
    await this.context.deps.cache?.team(scope.team).delete(`serverless_code_${name}`);
  }

  private async deployOnce(
    name: string,
    scope: CodeScope,
    input: CodeInput,
    config: CodeConfig,
  ): Promise<CodeDeployment> {
    const runtime = config.runtime ?? this.settings.runtime ?? 'nodejs22.x';
    const { names, invalid } = dependenciesOf(input);
    if (invalid.length) throw new SreBackendError(`invalid package names: ${invalid.join(', ')}`);
    const hash = contentHashOf(input, config, runtime, names);
    const cache = this.context.deps.cache?.team(scope.team);
    const [current, cached] = await Promise.all([this.describe(name), cache?.get<string>(`serverless_code_${name}`)]);
    if (current && (cached === hash || current.hash === hash)) return current.deployment;
    const zip = this.bundle(input, names);
    const settings = {
      Runtime: runtime as L.Runtime,
      Handler: 'index.handler',
      Timeout: Math.min(900, Math.max(1, Math.ceil(config.timeout ?? this.settings.timeoutSeconds ?? 30))),
      MemorySize: Math.max(128, config.memoryLimit ?? this.settings.memoryMb ?? 256),
      Description: `sre:${hash}|${secretNamesOf(input.code).join(',')}`,
      Environment: { Variables: { ...(config.environment ?? {}) } },
    };
    const createdAt = current?.deployment.createdAt ?? new Date();
    if (current) {
      await this.send(
        'UpdateFunctionCode',
        name,
        new this.sdk.UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: zip }),
      );
      await this.settle(name);
      await this.send(
        'UpdateFunctionConfiguration',
        name,
        new this.sdk.UpdateFunctionConfigurationCommand({ FunctionName: name, ...settings }),
      );
    } else {
      const Tags = { 'sre-created-at': createdAt.toISOString(), 'sre-team': scope.team, 'auto-delete': 'true' };
      const command = new this.sdk.CreateFunctionCommand({
        FunctionName: name,
        Role: this.settings.role,
        Code: { ZipFile: zip },
        Tags,
        ...settings,
      });
      await this.send('CreateFunction', name, command);
    }
    await this.settle(name);
    await cache?.set(`serverless_code_${name}`, hash, undefined, undefined, HASH_TTL_SECONDS);
    return { id: name, status: 'deployed', runtime, createdAt };
  }

  private bundle(input: CodeInput, names: string[]): Uint8Array {
    const { files, missing } = packageFilesOf(names, this.packagesDir());
    if (missing.length) throw new SreBackendError(`dependencies not installed in packagesDir: ${missing.join(', ')}`);
    for (const [file, text] of Object.entries(input.files ?? {}))
      if (!file.startsWith('/') && !file.split('/').includes('..')) files[file] = strToU8(text);
    files['index.mjs'] = strToU8(handlerSourceOf(input.code));
    files['package.json'] = strToU8(JSON.stringify({ type: 'module', private: true }));
    return zipSync(files, { level: 6 });
  }

  /** Polls until the function is active and its last update done; `Failed` or `deployWaitMs` is an error (W44). */
  private async settle(name: string): Promise<void> {
    const deadline = Date.now() + (this.settings.deployWaitMs ?? 120_000);
    for (let pause = 200; ; pause = Math.min(pause * 2, 5_000)) {
      const out = await this.send(
        'GetFunctionConfiguration',
        name,
        new this.sdk.GetFunctionConfigurationCommand({ FunctionName: name }),
      );
      if (out.State === 'Failed' || out.LastUpdateStatus === 'Failed')
        throw new SreBackendError(
          `function '${name}' failed to deploy: ${out.StateReason ?? out.LastUpdateStatusReason ?? 'no reason given'}`,
        );
      if (out.State === 'Active' && (out.LastUpdateStatus ?? 'Successful') === 'Successful') return;
      if (Date.now() + pause > deadline)
        throw new SreBackendError(`function '${name}' was not ready within deployWaitMs`);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  private async invoke(
    scope: CodeScope,
    name: string,
    inputs: Record<string, unknown>,
    secretNames: string[],
  ): Promise<CodeExecutionResult> {
    const secrets: Record<string, string | undefined> = {};
    if (secretNames.length) {
      const vault = this.context.deps.vault;
      if (!vault) throw new SreBackendError('the code uses {{KEY(...)}} secrets but no Vault is configured');
      for (const key of secretNames) secrets[key] = await vault.team(scope.team).get(key);
    }
    const command = new this.sdk.InvokeCommand({
      FunctionName: name,
      InvocationType: 'RequestResponse',
      LogType: 'Tail',
      Payload: strToU8(JSON.stringify(inputs)),
      ...(secretNames.length
        ? { ClientContext: Buffer.from(JSON.stringify({ custom: { secrets } })).toString('base64') }
        : {}),
    });
    const out: L.InvocationResponse = await this.send('Invoke', name, command, 900_000);
    return resultOf(out, labelOf(this.context));
  }

  private async describe(
    name: string | undefined,
  ): Promise<{ deployment: CodeDeployment; hash?: string; secrets: string[] } | undefined> {
    if (!name) return undefined;
    let out: L.GetFunctionResponse;
    try {
      out = await this.send('GetFunction', name, new this.sdk.GetFunctionCommand({ FunctionName: name }));
    } catch (error) {
      if (classifyAwsError((error as { cause?: unknown }).cause) === 'not-found') return undefined;
      throw error;
    }
    return deploymentOf(out);
  }

  /** The function name when `id` is this scope's deployment, else `undefined` (another unit's name is never touched). */
  private own(scope: CodeScope, id: string): string | undefined {
    return id === functionNameOf(this.settings.functionPrefix ?? 'sre-', scope) ? id : undefined;
  }

  private packagesDir(): string {
    return path.resolve(this.settings.packagesDir ?? 'node_modules');
  }

  private async send(operation: string, name: string, command: object, timeoutMs?: number): Promise<any> {
    try {
      const options = timeoutMs ? { abortSignal: AbortSignal.timeout(timeoutMs) } : callOptions(this.settings);
      return await this.client.send(command as L.GetFunctionCommand, options);
    } catch (error) {
      throw wrapAwsError(this.context, operation, name, error);
    }
  }
}

import type * as SM from '@aws-sdk/client-secrets-manager';
import type { AwsClientConfig } from './aws-client';
import { classifyAwsError, wrapAwsError } from './aws-errors';
import { awsServiceConfig, callOptions, type AwsServiceSettings } from './aws-service';
import type { ConnectorContext } from './backend';

type Sdk = typeof SM;

/** Characters AWS allows in a secret name. */
const NAME_CHARS = /^[A-Za-z0-9/_+=.@-]+$/;
/** Marks a key stored encoded: `@` never starts a key stored as is (those are encoded too). */
const ENCODED = '@b64@';
const MAX_NAME_LENGTH = 512;
/** Listing stops here: 100 000 secrets per team is far beyond any real vault. */
const MAX_PAGES = 1_000;

/**
 * Secret names `[<prefix>/]<team>/<key>` (the original's layout). A key AWS cannot hold in a name
 * (spaces, `:`, non-ASCII) is stored as `@b64@<base64url>`, reversibly; every other key is stored
 * as written, so secrets created by the original or by hand are found.
 */
export class SecretNames {
  constructor(private readonly prefix: string) {}

  /** The folder of one team, with its trailing slash. */
  teamFolder(team: string): string {
    return this.prefix ? `${this.prefix}/${team}/` : `${team}/`;
  }

  /** The name of a key, or `undefined` when no secret can have it (too long for AWS). */
  nameOf(team: string, key: string): string | undefined {
    const stored =
      NAME_CHARS.test(key) && !key.startsWith(ENCODED) ? key : ENCODED + Buffer.from(key).toString('base64url');
    const name = this.teamFolder(team) + stored;
    return name.length <= MAX_NAME_LENGTH ? name : undefined;
  }

  /** The key of a name in `team`'s folder, or `undefined` for a name outside it (AWS's filter is loose). */
  keyOf(team: string, name: string): string | undefined {
    const folder = this.teamFolder(team);
    if (!name.startsWith(folder)) return undefined;
    const stored = name.slice(folder.length);
    if (!stored.startsWith(ENCODED)) return stored || undefined;
    return Buffer.from(stored.slice(ENCODED.length), 'base64url').toString('utf8');
  }
}

/** What `describe` tells: the secret exists, and whether it is pending deletion. */
export interface SecretState {
  pendingDeletion: boolean;
  tags: Record<string, string>;
}

/**
 * The Secrets Manager calls both AWS vault connectors make, over one SDK client: every call time
 * boxed (`callTimeoutMs`, `requestTimeoutMs`) and retried by the SDK's standard mode; a missing
 * secret is `undefined`, any other failure a typed error naming the secret, never its value.
 */
export class SecretsManagerCalls {
  private readonly sdk: Sdk;
  private readonly client: SM.SecretsManagerClient;

  constructor(
    private readonly settings: AwsServiceSettings,
    private readonly context: ConnectorContext<{ aws?: AwsClientConfig }>,
  ) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the SDK loads only when configured
    this.sdk = require('@aws-sdk/client-secrets-manager') as Sdk;
    this.client = new this.sdk.SecretsManagerClient(awsServiceConfig(settings, context.deps.aws));
  }

  close(): void {
    this.client.destroy();
  }

  /** The current value; `undefined` when the secret is missing or pending deletion. */
  async value(name: string): Promise<string | undefined> {
    try {
      const out = await this.send('GetSecretValue', name, new this.sdk.GetSecretValueCommand({ SecretId: name }));
      if (out.SecretString !== undefined) return out.SecretString;
      return out.SecretBinary === undefined ? undefined : Buffer.from(out.SecretBinary).toString('utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async describe(name: string): Promise<SecretState | undefined> {
    try {
      const out = await this.send('DescribeSecret', name, new this.sdk.DescribeSecretCommand({ SecretId: name }));
      const tags = Object.fromEntries((out.Tags ?? []).map((tag: SM.Tag) => [tag.Key ?? '', tag.Value ?? '']));
      return { pendingDeletion: out.DeletedDate !== undefined, tags };
    } catch (error) {
      if (classifyAwsError((error as { cause?: unknown }).cause) === 'not-found') return undefined;
      throw error;
    }
  }

  /** Every name under `folder`, exactly (AWS's name filter is a looser prefix match), following every page. */
  async names(folder: string): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const command = new this.sdk.ListSecretsCommand({
        Filters: [{ Key: 'name', Values: [folder] }],
        MaxResults: 100,
        NextToken: token,
      });
      const out = await this.send('ListSecrets', folder, command);
      for (const secret of out.SecretList ?? []) if (secret.Name?.startsWith(folder)) names.push(secret.Name);
      token = out.NextToken;
      if (!token) return names;
    }
    this.context.logger.warn(`listing '${folder}' stopped after ${MAX_PAGES} pages`);
    return names;
  }

  create(name: string, value: string, tags: Record<string, string>): Promise<unknown> {
    const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    return this.send('CreateSecret', name, new this.sdk.CreateSecretCommand({ Name: name, SecretString: value, Tags }));
  }

  put(name: string, value: string): Promise<unknown> {
    return this.send(
      'PutSecretValue',
      name,
      new this.sdk.PutSecretValueCommand({ SecretId: name, SecretString: value }),
    );
  }

  restore(name: string): Promise<unknown> {
    return this.send('RestoreSecret', name, new this.sdk.RestoreSecretCommand({ SecretId: name }));
  }

  /** Schedules the deletion (`recoveryDays`, 7 to 30) or deletes at once (`0`); a missing secret is a no-op. */
  async remove(name: string, recoveryDays: number): Promise<void> {
    const input = recoveryDays === 0 ? { ForceDeleteWithoutRecovery: true } : { RecoveryWindowInDays: recoveryDays };
    try {
      await this.send('DeleteSecret', name, new this.sdk.DeleteSecretCommand({ SecretId: name, ...input }));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  /** One time-boxed call; failures come out typed (`wrapAwsError`), the SDK error as `cause`. */
  async send(operation: string, name: string, command: object): Promise<any> {
    try {
      return await this.client.send(command as SM.ListSecretsCommand, callOptions(this.settings));
    } catch (error) {
      throw wrapAwsError(this.context, operation, name, error);
    }
  }
}

/** Not found, or pending deletion (which AWS answers with `InvalidRequestException`). */
export function isMissing(error: unknown): boolean {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  if (classifyAwsError(cause) === 'not-found') return true;
  return (cause as Error)?.name === 'InvalidRequestException' && /deletion/i.test((cause as Error).message);
}

export function isPendingDeletion(error: unknown): boolean {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  return (cause as Error)?.name === 'InvalidRequestException' && /deletion/i.test((cause as Error).message);
}

export function isAlreadyExisting(error: unknown): boolean {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  return (cause as Error)?.name === 'ResourceExistsException';
}

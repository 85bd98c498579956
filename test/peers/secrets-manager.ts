/**
 * A wire-compatible AWS Secrets Manager for the tests (AWS JSON 1.1: `POST /` with
 * `x-amz-target: secretsmanager.<Op>`, errors as `x-amzn-errortype` + `{__type, message}`), on a
 * free port of 127.0.0.1. It validates what the service validates and the connectors rely on:
 * secret names, value sizes, the recovery window, pagination tokens (opaque, bound to the query),
 * the access key id of the signature, and the states of a secret (a secret pending deletion reads
 * as `InvalidRequestException`, is hidden from listings and blocks re-creation until restored).
 * Signatures themselves are not verified.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { listenLocally } from './listen';
import * as http from 'node:http';

interface Version {
  id: string;
  value: string;
  stages: string[];
  created: number;
}

export interface StoredSecret {
  name: string;
  arn: string;
  description?: string;
  tags: { Key: string; Value: string }[];
  created: number;
  changed: number;
  deleted?: number;
  versions: Version[];
}

/** A fault the peer answers instead of the next `count` calls (of `operation`, or of any). */
export interface SecretsFault {
  type: string;
  status: number;
  count?: number;
  operation?: string;
}

export interface SecretsManagerPeer {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Secrets by name, for assertions (and seeding without the SDK). */
  readonly secrets: Map<string, StoredSecret>;
  /** Calls served, by operation. */
  readonly calls: Map<string, number>;
  inject(fault: SecretsFault): void;
  /** Every later request waits this long before it is answered (0: none). */
  delay(ms: number): void;
  settings(): { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; maxAttempts: number };
  /** The config of an SDK client of the tests' own (seeding, inspecting). */
  clientConfig(): { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  stop(): Promise<void>;
}

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const MAX_VALUE_BYTES = 65_536;
const now = () => Date.now() / 1000;

export async function startSecretsManagerPeer(): Promise<SecretsManagerPeer> {
  const accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(20).toString('base64');
  const tokenKey = randomBytes(16);
  const secrets = new Map<string, StoredSecret>();
  const calls = new Map<string, number>();
  const faults: SecretsFault[] = [];
  let delayMs = 0;

  const find = (id: unknown): StoredSecret => {
    if (typeof id !== 'string' || id === '') throw new AwsError('InvalidParameterException', 'SecretId is required.');
    const found = secrets.get(id) ?? [...secrets.values()].find((s) => s.arn === id);
    if (!found) throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return found;
  };
  const live = (secret: StoredSecret, op: string): StoredSecret => {
    if (secret.deleted !== undefined)
      throw new AwsError(
        'InvalidRequestException',
        `You can't perform this operation on the secret because it was marked for deletion. (${op})`,
      );
    return secret;
  };
  const checkValue = (input: Record<string, unknown>): string => {
    const value = input.SecretString;
    if (typeof value !== 'string') throw new AwsError('InvalidParameterException', 'SecretString is required.');
    if (Buffer.byteLength(value) > MAX_VALUE_BYTES)
      throw new AwsError(
        'ValidationException',
        "Value at 'secretString' failed to satisfy constraint: length <= 65536",
      );
    return value;
  };
  const addVersion = (secret: StoredSecret, value: string, token: unknown) => {
    for (const version of secret.versions)
      version.stages = version.stages.includes('AWSCURRENT') ? ['AWSPREVIOUS'] : [];
    secret.versions = secret.versions.filter((version) => version.stages.length > 0);
    const id = typeof token === 'string' && token ? token : randomUUID();
    secret.versions.push({ id, value, stages: ['AWSCURRENT'], created: now() });
    secret.changed = now();
    return id;
  };
  const describe = (s: StoredSecret) => ({
    ARN: s.arn,
    Name: s.name,
    Description: s.description,
    Tags: s.tags,
    CreatedDate: s.created,
    LastChangedDate: s.changed,
    ...(s.deleted !== undefined ? { DeletedDate: s.deleted } : {}),
    VersionIdsToStages: Object.fromEntries(s.versions.map((v) => [v.id, v.stages])),
  });
  const sign = (text: string) => createHmac('sha256', tokenKey).update(text).digest('base64url');

  const ops: Record<string, (input: Record<string, any>) => object> = {
    CreateSecret(input) {
      const name = input.Name;
      if (typeof name !== 'string' || !NAME.test(name))
        throw new AwsError(
          'InvalidParameterException',
          'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
        );
      const existing = secrets.get(name);
      if (existing?.deleted !== undefined)
        throw new AwsError(
          'InvalidRequestException',
          "You can't create this secret because a secret with this name is already scheduled for deletion.",
        );
      if (existing)
        throw new AwsError(
          'ResourceExistsException',
          `The operation failed because the secret ${name} already exists.`,
        );
      const secret: StoredSecret = {
        name,
        arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${randomBytes(3).toString('hex')}`,
        description: input.Description,
        tags: Array.isArray(input.Tags) ? input.Tags : [],
        created: now(),
        changed: now(),
        versions: [],
      };
      const value = checkValue(input);
      secrets.set(name, secret);
      const VersionId = addVersion(secret, value, input.ClientRequestToken);
      return { ARN: secret.arn, Name: name, VersionId };
    },
    GetSecretValue(input) {
      const secret = live(find(input.SecretId), 'GetSecretValue');
      const stage = input.VersionStage ?? (input.VersionId ? undefined : 'AWSCURRENT');
      const version = secret.versions.find(
        (v) => (!input.VersionId || v.id === input.VersionId) && (!stage || v.stages.includes(stage)),
      );
      if (!version)
        throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value.");
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.id,
        VersionStages: version.stages,
        SecretString: version.value,
        CreatedDate: version.created,
      };
    },
    PutSecretValue(input) {
      const secret = live(find(input.SecretId), 'PutSecretValue');
      const VersionId = addVersion(secret, checkValue(input), input.ClientRequestToken);
      return { ARN: secret.arn, Name: secret.name, VersionId, VersionStages: ['AWSCURRENT'] };
    },
    DeleteSecret(input) {
      const secret = find(input.SecretId);
      const window = input.RecoveryWindowInDays;
      if (input.ForceDeleteWithoutRecovery && window !== undefined)
        throw new AwsError(
          'InvalidParameterException',
          "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        );
      if (window !== undefined && !(Number.isInteger(window) && window >= 7 && window <= 30))
        throw new AwsError('InvalidParameterException', 'The recovery window must be between 7 and 30 days.');
      if (input.ForceDeleteWithoutRecovery) secrets.delete(secret.name);
      else secret.deleted = live(secret, 'DeleteSecret') && now();
      return { ARN: secret.arn, Name: secret.name, DeletionDate: now() + 86_400 * (window ?? 30) };
    },
    RestoreSecret(input) {
      const secret = find(input.SecretId);
      delete secret.deleted;
      return { ARN: secret.arn, Name: secret.name };
    },
    DescribeSecret(input) {
      return describe(find(input.SecretId));
    },
    ListSecrets(input) {
      const max = input.MaxResults ?? 100;
      if (!Number.isInteger(max) || max < 1 || max > 100)
        throw new AwsError('InvalidParameterException', 'MaxResults must be between 1 and 100.');
      const query = JSON.stringify([input.Filters ?? [], input.IncludePlannedDeletion === true, input.SortOrder ?? '']);
      let start = 0;
      if (input.NextToken !== undefined) {
        const [offset, mac] = String(input.NextToken).split('.');
        if (!mac || sign(`${offset}|${query}`) !== mac || !/^\d+$/.test(offset))
          throw new AwsError('InvalidNextTokenException', 'The NextToken value is invalid.');
        start = Number(offset);
      }
      let list = [...secrets.values()].filter((s) => input.IncludePlannedDeletion === true || s.deleted === undefined);
      for (const filter of input.Filters ?? []) {
        if (filter.Key !== 'name' && filter.Key !== 'tag-key' && filter.Key !== 'tag-value')
          throw new AwsError('InvalidParameterException', `Unsupported filter key: ${filter.Key}`);
        list = list.filter((s) =>
          (filter.Values ?? []).some((raw: string) => {
            const negate = raw.startsWith('!');
            const wanted = (negate ? raw.slice(1) : raw).toLowerCase();
            const fields =
              filter.Key === 'name' ? [s.name] : s.tags.map((t) => (filter.Key === 'tag-key' ? t.Key : t.Value));
            // the looser reading of AWS's prefix match (case-insensitive): callers must check names themselves
            const hit = fields.some((field) => field.toLowerCase().startsWith(wanted));
            return negate ? !hit : hit;
          }),
        );
      }
      list.sort((a, b) => a.created - b.created || a.name.localeCompare(b.name));
      const page = list.slice(start, start + max);
      const next = start + max < list.length ? `${start + max}.${sign(`${start + max}|${query}`)}` : undefined;
      return {
        SecretList: page.map((s) => ({ ...describe(s), SecretVersionsToStages: describe(s).VersionIdsToStages })),
        ...(next ? { NextToken: next } : {}),
      };
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = (status: number, body: object, headers: Record<string, string> = {}) => {
        const text = Buffer.from(JSON.stringify(body));
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          'content-length': String(text.length),
          'x-amzn-requestid': randomUUID(),
          ...headers,
        });
        res.end(text);
      };
      const serve = () => {
        try {
          const [service, op] = String(req.headers['x-amz-target'] ?? '').split('.');
          if (req.method !== 'POST' || service !== 'secretsmanager' || !ops[op])
            throw new AwsError('UnknownOperationException', 'The action or operation requested is invalid.');
          const credential = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
          if (credential !== accessKeyId)
            throw new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
          calls.set(op, (calls.get(op) ?? 0) + 1);
          const fault = faults.find((f) => !f.operation || f.operation === op);
          if (fault) {
            if (fault.count !== undefined && --fault.count <= 0) faults.splice(faults.indexOf(fault), 1);
            throw new AwsError(fault.type, `injected ${fault.type}`, fault.status);
          }
          const raw = Buffer.concat(chunks).toString('utf8');
          answer(200, ops[op](raw ? JSON.parse(raw) : {}));
        } catch (error) {
          const e =
            error instanceof AwsError
              ? error
              : new AwsError('InternalServiceError', String((error as Error).message), 500);
          answer(e.status, { __type: e.type, message: e.message }, { 'x-amzn-errortype': e.type });
        }
      };
      if (delayMs > 0) setTimeout(serve, delayMs).unref();
      else serve();
    });
  });
  const listener = await listenLocally(server);
  const endpoint = listener.origin;

  return {
    endpoint,
    region: REGION,
    accessKeyId,
    secretAccessKey,
    secrets,
    calls,
    inject: (fault) => faults.push({ count: 1, ...fault }),
    delay: (ms) => {
      delayMs = ms;
    },
    settings: () => ({ endpoint, region: REGION, accessKeyId, secretAccessKey, maxAttempts: 1 }),
    clientConfig: () => ({ endpoint, region: REGION, credentials: { accessKeyId, secretAccessKey } }),
    stop: () => listener.close(),
  };
}

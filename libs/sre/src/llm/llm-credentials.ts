import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { SreAccessDeniedError, SreInvalidInputError, type SreErrorSource } from '../core/errors';
import type { ModelEntry } from '../models-provider/models-provider.backend';
import type { AccessCandidate } from '../security/access-candidate';
import type { VaultRequester } from '../vault/vault.service';
import type { LLMCredentials } from './llm.backend';

/**
 * What credential resolution needs from the Vault subsystem (`VaultService` fits): the caller's own
 * view. Secrets are only ever read as the caller, so one caller's key never serves another (W38).
 */
export interface SecretReader {
  requester(candidate: AccessCandidate): Pick<VaultRequester, 'get'>;
}

/** Environment variables of the `internal` mode, by lower-cased provider (read at call time). */
export const INTERNAL_KEY_VARIABLES: Readonly<Record<string, string>> = Object.freeze({
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  googleai: 'GOOGLE_AI_API_KEY',
  togetherai: 'TOGETHER_AI_API_KEY',
  groq: 'GROQ_API_KEY',
  xai: 'XAI_API_KEY',
  perplexity: 'PERPLEXITY_API_KEY',
});

const KEY_TEMPLATE = /\{\{\s*KEY\(\s*([^)}]+?)\s*\)\s*\}\}/g;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The credentials of one call, resolved for the calling candidate (§10.2 of the spec): a credentials
 * object has its `{{KEY(name)}}` templates filled from the caller's vault (a missing key gives
 * `''`); `none` gives an empty key; `internal` the platform's environment key; `vault` the team's
 * key named after the provider; `bedrock_vault` and `vertexai_vault` the keys named in the model's
 * settings. Modes in a list are tried in order; nothing found gives `{}`. A vault that denies the
 * caller counts as "no key"; a vault that fails throws, so that an outage never silently falls back
 * to the platform's key. Malformed VertexAI credentials are reported, not parsed blindly (W57).
 */
export async function resolveLLMCredentials(
  candidate: AccessCandidate,
  model: ModelEntry,
  vault: SecretReader | undefined,
  env: NodeJS.ProcessEnv = process.env,
  source?: SreErrorSource,
): Promise<LLMCredentials> {
  const provider = String(model.provider ?? model.llm ?? '').toLowerCase();
  const modes = Array.isArray(model.credentials) ? model.credentials : [model.credentials ?? 'internal'];
  const read = async (key: unknown): Promise<string> => {
    if (typeof key !== 'string' || key === '' || !vault) return '';
    try {
      return (await vault.requester(candidate).get(key)) ?? '';
    } catch (error) {
      if (error instanceof SreAccessDeniedError) return '';
      throw error;
    }
  };
  const fill = async (value: unknown): Promise<unknown> => {
    if (typeof value === 'string') {
      const names = [...new Set([...value.matchAll(KEY_TEMPLATE)].map((match) => match[1]))];
      if (names.length === 0) return value;
      const values = new Map(await Promise.all(names.map(async (name) => [name, await read(name)] as const)));
      return value.replace(KEY_TEMPLATE, (_, name: string) => values.get(name) ?? '');
    }
    if (Array.isArray(value)) return Promise.all(value.map(fill));
    if (isPlainObject(value))
      return Object.fromEntries(
        await Promise.all(Object.entries(value).map(async ([key, item]) => [key, await fill(item)] as const)),
      );
    return value;
  };
  const settings = isPlainObject(model.settings) ? model.settings : {};
  for (const mode of modes) {
    if (isPlainObject(mode)) return (await fill(mode)) as LLMCredentials;
    switch (mode) {
      case 'none':
        return { apiKey: '' };
      case 'internal': {
        const variable = Object.hasOwn(INTERNAL_KEY_VARIABLES, provider) ? INTERNAL_KEY_VARIABLES[provider] : undefined;
        const apiKey = variable ? env[variable] : undefined;
        if (apiKey) return { apiKey };
        break;
      }
      case 'vault': {
        // the docs spell the key `openai:apiKey` where the code reads `openai` (§19): both are honoured
        const apiKey = (await read(provider)) || (provider ? await read(`${provider}:apiKey`) : '');
        if (apiKey) return { apiKey, isUserKey: true };
        break;
      }
      case 'bedrock_vault': {
        const [accessKeyId, secretAccessKey, sessionToken] = await Promise.all([
          read(settings.keyIDName),
          read(settings.secretKeyName),
          read(settings.sessionKeyName),
        ]);
        if (accessKeyId && secretAccessKey)
          return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}), isUserKey: true };
        break;
      }
      case 'vertexai_vault': {
        const text = await read(settings.jsonCredentialsName);
        if (!text) break;
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        if (!isPlainObject(parsed))
          throw new SreInvalidInputError(
            `the VertexAI credentials in vault key '${String(settings.jsonCredentialsName)}' are not a JSON object`,
            source,
          );
        return { ...parsed, isUserKey: true };
      }
      default:
        throw new SreInvalidInputError(
          `unknown credentials mode '${String(mode)}' (use vault, internal, none, bedrock_vault, vertexai_vault or an object)`,
          source,
        );
    }
  }
  return {};
}

/**
 * Where the key of a model is looked up, for messages (`vault key 'openai' (or 'openai:apiKey')
 * or OPENAI_API_KEY`): names only, never a value.
 */
export function keyHintOf(model: ModelEntry): string {
  const provider = String(model.provider ?? model.llm ?? '').toLowerCase();
  const modes = Array.isArray(model.credentials) ? model.credentials : [model.credentials ?? 'internal'];
  const settings = isPlainObject(model.settings) ? model.settings : {};
  const places = modes.map((mode) => {
    if (isPlainObject(mode)) {
      const names = [...JSON.stringify(mode).matchAll(KEY_TEMPLATE)].map((match) => `'${match[1]}'`);
      return names.length ? `vault key ${names.join(', ')}` : 'the model entry credentials';
    }
    if (mode === 'vault') return `vault key '${provider}' (or '${provider}:apiKey')`;
    if (mode === 'internal')
      return Object.hasOwn(INTERNAL_KEY_VARIABLES, provider)
        ? `environment variable ${INTERNAL_KEY_VARIABLES[provider]}`
        : `no environment variable (provider '${provider}' has none)`;
    if (mode === 'bedrock_vault')
      return `vault keys '${String(settings.keyIDName)}' and '${String(settings.secretKeyName)}'`;
    if (mode === 'vertexai_vault') return `vault key '${String(settings.jsonCredentialsName)}'`;
    return `credentials mode '${String(mode)}'`;
  });
  return places.join(', then ');
}

/** The vault key of a model's `vault` mode (the lower-cased provider name), if it has one. */
export function vaultKeyOf(model: ModelEntry): string | undefined {
  const modes = Array.isArray(model.credentials) ? model.credentials : [model.credentials ?? 'internal'];
  const provider = String(model.provider ?? model.llm ?? '').toLowerCase();
  return modes.includes('vault') && provider ? provider : undefined;
}

/**
 * SDK clients keyed by the credentials they were built with: one client per distinct credential set,
 * never one client for everyone built with the first caller's key (W38). Keys are SHA-256 digests,
 * so no secret is kept as a map key; the least recently used clients are dropped beyond `max`.
 */
export class ClientsByCredential<T extends object> {
  private readonly clients: LRUCache<string, T>;

  constructor(options: { max?: number; dispose?: (client: T) => void } = {}) {
    const dispose = options.dispose;
    this.clients = new LRUCache<string, T>({
      max: options.max ?? 100,
      ...(dispose ? { dispose: (client: T) => dispose(client) } : {}),
    });
  }

  get(credentials: object, create: () => T): T {
    const key = createHash('sha256').update(stableJson(credentials)).digest('hex');
    let client = this.clients.get(key);
    if (client === undefined) {
      client = create();
      this.clients.set(key, client);
    }
    return client;
  }

  get size(): number {
    return this.clients.size;
  }

  clear(): void {
    this.clients.clear();
  }
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

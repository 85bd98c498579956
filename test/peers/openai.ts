import { createHash } from 'node:crypto';
import { listenLocally, onJsonBody } from './listen';
import * as http from 'node:http';
import { chatCompletions } from './openai-chat';
import { responses } from './openai-responses';
import { LLMScript, scriptedPeer, type ScriptedPeer } from './llm-script';

export type { ScriptedReply } from './llm-script';

/** What the peer saw of one request: the key it was made with and what it asked. */
export interface OpenAIPeerRequest {
  path: string;
  apiKey: string;
  body: Record<string, unknown>;
}

/** `enqueue` scripts the next chat replies (text, tool calls, an error, a stream cut in the middle). */
export interface OpenAIPeer extends ScriptedPeer<OpenAIPeerRequest> {
  /** `http://127.0.0.1:<port>/v1`: the SDK's `baseURL`. */
  readonly baseURL: string;
  /** The next `count` requests answer `status` (with `retry-after` seconds for a 429). */
  failNext(count: number, status: number, retryAfterSeconds?: number): void;
}

const MODEL_DIMENSIONS: Record<string, number> = {
  'text-embedding-3-large': 3072,
  'text-embedding-3-small': 1536,
  'text-embedding-ada-002': 1536,
};

/**
 * A deterministic embedding: character trigrams hashed into `dimensions` buckets, L2-normalised.
 * The same text always gives the same vector; texts sharing words land near each other.
 */
export function trigramEmbedding(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  const padded = `  ${text.toLowerCase()}  `;
  for (let i = 0; i + 3 <= padded.length; i++) {
    const digest = createHash('md5')
      .update(padded.slice(i, i + 3))
      .digest();
    vector[digest.readUInt32LE(0) % dimensions] += digest[4] & 1 ? 1 : -1;
  }
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
  return norm > 0 ? vector.map((value) => value / norm) : vector;
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function error(res: http.ServerResponse, status: number, type: string, message: string, code?: string) {
  send(res, status, { error: { message, type, param: null, code: code ?? null } });
}

/**
 * A wire-compatible OpenAI API on a free port of 127.0.0.1, for the official SDK: the embeddings
 * endpoint as the SDK calls it (bearer key checked, `dimensions` honoured, base64 or float
 * encoding), Chat Completions (JSON or SSE, tools, scripted replies), OpenAI's error body, and
 * injectable 429/5xx answers. `apiKeys: ['*']` accepts any key, a missing one too (Ollama).
 */
export async function startOpenAIPeer(options: { apiKeys: string[] }): Promise<OpenAIPeer> {
  const requests: OpenAIPeerRequest[] = [];
  const failures: { status: number; retryAfter?: number }[] = [];
  const script = new LLMScript();
  const server = http.createServer((req, res) => {
    onJsonBody(req, (body) => {
      const apiKey = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (!body) return error(res, 400, 'invalid_request_error', 'We could not parse the JSON body of your request.');
      const path = (req.url ?? '').split('?')[0];
      requests.push({ path, apiKey, body });
      const failure = failures.shift();
      if (failure) {
        const headers: Record<string, string> =
          failure.retryAfter === undefined ? {} : { 'retry-after': String(failure.retryAfter) };
        return send(
          res,
          failure.status,
          { error: { message: 'injected failure', type: 'server_error', code: null } },
          headers,
        );
      }
      if (!options.apiKeys.includes(apiKey) && !options.apiKeys.includes('*'))
        return error(res, 401, 'invalid_request_error', 'Incorrect API key provided.', 'invalid_api_key');
      if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/responses')) {
        const scripted = script.next();
        if (scripted?.error) {
          const headers: Record<string, string> =
            scripted.error.retryAfterSeconds === undefined
              ? {}
              : { 'retry-after': String(scripted.error.retryAfterSeconds) };
          return send(
            res,
            scripted.error.status,
            { error: { message: scripted.error.message ?? 'scripted failure', type: 'server_error', code: null } },
            headers,
          );
        }
        if (scripted) script.enqueueFirst(scripted);
        if (path === '/v1/responses') {
          if (typeof body.model !== 'string' || body.input === undefined)
            return error(res, 400, 'invalid_request_error', "'model' and 'input' are required");
          void responses(body, res, script);
          return;
        }
        if (typeof body.model !== 'string' || !Array.isArray(body.messages) || body.messages.length === 0)
          return error(res, 400, 'invalid_request_error', "'model' and 'messages' are required");
        void chatCompletions(body, res, script);
        return;
      }
      if (req.method !== 'POST' || path !== '/v1/embeddings')
        return error(res, 404, 'invalid_request_error', `Unknown request URL: ${req.method} ${path}.`);
      const model = typeof body.model === 'string' ? body.model : '';
      if (!(model in MODEL_DIMENSIONS))
        return error(res, 404, 'invalid_request_error', `The model \`${model}\` does not exist`, 'model_not_found');
      const inputs = typeof body.input === 'string' ? [body.input] : body.input;
      if (
        !Array.isArray(inputs) ||
        inputs.length === 0 ||
        inputs.some((input) => typeof input !== 'string' || input === '')
      )
        return error(res, 400, 'invalid_request_error', "'$.input' is invalid.");
      if (body.dimensions !== undefined && model === 'text-embedding-ada-002')
        return error(res, 400, 'invalid_request_error', 'This model does not support specifying dimensions.');
      const dimensions = typeof body.dimensions === 'number' ? body.dimensions : MODEL_DIMENSIONS[model];
      const data = (inputs as string[]).map((input, index) => {
        const values = trigramEmbedding(input, dimensions);
        const embedding =
          body.encoding_format === 'base64' ? Buffer.from(new Float32Array(values).buffer).toString('base64') : values;
        return { object: 'embedding', index, embedding };
      });
      const tokens = (inputs as string[]).reduce((sum, input) => sum + Math.ceil(input.length / 4), 0);
      send(res, 200, { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
    });
  });
  const listener = await listenLocally(server);
  return scriptedPeer(script, requests, () => listener.close(), {
    baseURL: `${listener.origin}/v1`,
    failNext(count: number, status: number, retryAfterSeconds?: number) {
      for (let i = 0; i < count; i++) failures.push({ status, retryAfter: retryAfterSeconds });
    },
  });
}

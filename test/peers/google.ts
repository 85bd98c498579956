import * as http from 'node:http';
import { listenLocally, onJsonBody } from './listen';
import { LLMScript, piecesOf, scriptedPeer, tokens, type ScriptedPeer, type ScriptedReply } from './llm-script';
import { trigramEmbedding } from './openai';

/** Native sizes of the embedding models; `outputDimensionality` asks for fewer. */
const EMBEDDING_DIMENSIONS: Record<string, number> = { 'gemini-embedding-001': 3072, 'text-embedding-004': 768 };

export interface GooglePeerRequest {
  path: string;
  apiKey: string;
  body: Record<string, unknown>;
}

export interface GooglePeer extends ScriptedPeer<GooglePeerRequest> {
  /** `http://127.0.0.1:<port>`: `httpOptions.baseUrl` of `@google/genai` (it adds `/v1beta/models/...`). */
  readonly baseURL: string;
}

interface Content {
  role?: string;
  parts?: { text?: string; functionResponse?: { response?: unknown } }[];
}

function defaultAnswer(contents: Content[]): string {
  const parts = contents.at(-1)?.parts ?? [];
  const response = parts.find((part) => part.functionResponse)?.functionResponse?.response as
    { result?: unknown } | undefined;
  if (response)
    return `The tool answered: ${typeof response.result === 'string' ? response.result : JSON.stringify(response)}`;
  return parts.map((part) => part.text ?? '').join('');
}

function fail(res: http.ServerResponse, code: number, status: string, message: string, details: unknown[] = []): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code, message, status, details } }));
}

/**
 * A wire-compatible Generative Language API (`generateContent`, `streamGenerateContent?alt=sse`,
 * `embedContent`, `batchEmbedContents` with trigram vectors) on
 * a free port of 127.0.0.1, for `@google/genai`: text, thought and functionCall parts, Google's
 * error body (an invalid key is a 400 with reason API_KEY_INVALID, a 429 carries RetryInfo's
 * `retryDelay`), and streams cut in the middle.
 */
export async function startGooglePeer(options: { apiKeys: string[] }): Promise<GooglePeer> {
  const requests: GooglePeerRequest[] = [];
  const script = new LLMScript();
  const server = http.createServer((req, res) => {
    onJsonBody(req, (body) => {
      const url = new URL(req.url ?? '/', 'http://peer');
      const header = req.headers['x-goog-api-key'];
      const apiKey = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('key') ?? '';
      if (!body) return fail(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
      requests.push({ path: url.pathname, apiKey, body });
      if (!options.apiKeys.includes(apiKey))
        return fail(res, 400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
        ]);
      const match =
        /^\/v1beta\/models\/([^:]+):(generateContent|streamGenerateContent|embedContent|batchEmbedContents)$/.exec(
          url.pathname,
        );
      if (req.method !== 'POST' || !match) return fail(res, 404, 'NOT_FOUND', `no route ${url.pathname}`);
      const reply = script.next();
      if (reply?.error) {
        const delay = reply.error.retryAfterSeconds;
        return fail(
          res,
          reply.error.status,
          reply.error.status === 429 ? 'RESOURCE_EXHAUSTED' : 'INTERNAL',
          reply.error.message ?? 'scripted failure',
          delay === undefined ? [] : [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${delay}s` }],
        );
      }
      if (match[2] === 'embedContent' || match[2] === 'batchEmbedContents') return embed(match[1], match[2], body, res);
      const contents = (Array.isArray(body.contents) ? body.contents : []) as Content[];
      if (!contents.length)
        return fail(res, 400, 'INVALID_ARGUMENT', '* GenerateContentRequest.contents: contents is not specified');
      void answer(match[1], match[2] === 'streamGenerateContent', contents, reply, res, script);
    });
  });
  const listener = await listenLocally(server);
  return scriptedPeer(script, requests, () => listener.close(), { baseURL: listener.origin });
}

async function answer(
  model: string,
  stream: boolean,
  contents: Content[],
  reply: ScriptedReply | undefined,
  res: http.ServerResponse,
  script: LLMScript,
): Promise<void> {
  const text = reply?.content ?? (reply?.toolCalls ? '' : defaultAnswer(contents));
  const calls = (reply?.toolCalls ?? []).map((call) => ({ functionCall: { name: call.name, args: call.arguments } }));
  const usageMetadata = {
    promptTokenCount: tokens(JSON.stringify(contents)),
    candidatesTokenCount: tokens(text),
    totalTokenCount: 0,
  };
  const candidate = (parts: unknown[], finishReason?: string) => ({
    candidates: [{ content: { role: 'model', parts }, ...(finishReason ? { finishReason } : {}), index: 0 }],
    usageMetadata,
    modelVersion: model,
  });
  const thought = reply?.thinking ? [{ text: reply.thinking, thought: true }] : [];
  if (!stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(candidate([...thought, ...(text ? [{ text }] : []), ...calls], 'STOP')));
    return;
  }
  const data = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
  const chunks = thought.length ? [data(candidate(thought))] : [];
  for (const piece of piecesOf(text)) chunks.push(data(candidate([{ text: piece }])));
  if (calls.length) chunks.push(data(candidate(calls)));
  chunks.push(data(candidate([{ text: '' }], 'STOP')));
  await script.sse(res, chunks, reply);
}

interface EmbedRequest {
  model?: string;
  content?: { parts?: { text?: string }[] };
  outputDimensionality?: number;
}

/** Embeddings as the SDK asks for them: one request per text, each naming its model and size. */
function embed(model: string, method: string, body: Record<string, unknown>, res: http.ServerResponse): void {
  const native = EMBEDDING_DIMENSIONS[model];
  if (native === undefined) return fail(res, 404, 'NOT_FOUND', `models/${model} is not found for API version v1beta`);
  const one = (request: EmbedRequest) => {
    const text = (request.content?.parts ?? []).map((part) => part.text ?? '').join('');
    const size = request.outputDimensionality ?? native;
    // like the service: the full-size vector is normalised, a cut one is not
    const full = trigramEmbedding(text, native).map((value) => value * 3);
    return { values: size < native ? full.slice(0, size) : trigramEmbedding(text, native) };
  };
  const requests = (method === 'embedContent' ? [body] : (body.requests ?? [])) as EmbedRequest[];
  if (!Array.isArray(requests) || requests.length === 0 || requests.length > 100)
    return fail(res, 400, 'INVALID_ARGUMENT', 'requests must hold 1 to 100 embedding requests');
  if (requests.some((request) => request.model !== undefined && request.model !== `models/${model}`))
    return fail(res, 400, 'INVALID_ARGUMENT', 'every request must name the model of the URL');
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(method === 'embedContent' ? { embedding: one(body) } : { embeddings: requests.map(one) }));
}

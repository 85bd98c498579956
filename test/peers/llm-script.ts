import type * as http from 'node:http';

/** One scripted reply of an LLM peer; unscripted calls echo the last message. */
export interface ScriptedReply {
  /** The answer's text. */
  content?: string;
  /** Tool calls the model makes (arguments as an object). */
  toolCalls?: { name: string; arguments: Record<string, unknown>; id?: string }[];
  /** Answer this status instead (with `retry-after` seconds for a 429). */
  error?: { status: number; message?: string; retryAfterSeconds?: number };
  /** Streams only: close the connection after this many chunks, without the end of the stream. */
  cutAfterChunks?: number;
  /** Streams only: pause between chunks (to abort in the middle). */
  chunkDelayMs?: number;
  /** Thinking text before the answer (providers that have it). */
  thinking?: string;
}

/** What an LLM peer shares: scripted replies, a record of what it saw, and of connections the client closed. */
export class LLMScript {
  private readonly replies: ScriptedReply[] = [];
  /** Requests whose client went away before the answer was complete (an abort reached the wire). */
  clientClosed = 0;

  enqueue(...replies: ScriptedReply[]): void {
    this.replies.push(...replies);
  }

  /** Puts a reply back at the front (the peer peeked at it). */
  enqueueFirst(reply: ScriptedReply): void {
    this.replies.unshift(reply);
  }

  next(): ScriptedReply | undefined {
    return this.replies.shift();
  }

  /** Sends `chunks` as server-sent events, honouring the reply's delay and cut; resolves when done. */
  async sse(res: http.ServerResponse, chunks: string[], reply: ScriptedReply | undefined): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    let closed = false;
    res.on('close', () => {
      if (!res.writableFinished) {
        closed = true;
        this.clientClosed++;
      }
    });
    for (const [index, chunk] of chunks.entries()) {
      if (closed) return;
      if (reply?.cutAfterChunks !== undefined && index >= reply.cutAfterChunks) {
        res.socket?.destroy();
        return;
      }
      res.write(chunk);
      if (reply?.chunkDelayMs) await new Promise((resolve) => setTimeout(resolve, reply.chunkDelayMs));
    }
    if (!closed) res.end();
  }
}

/** The words of a text with their spaces kept, as a model streams them. */
export function piecesOf(text: string): string[] {
  return text.match(/\s*\S+/g) ?? (text ? [text] : []);
}

/** The text of a message content (a string or content parts). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((part: { text?: unknown }) => (typeof part?.text === 'string' ? part.text : '')).join('');
  return '';
}

/** A rough token count, as the peers report usage. */
export const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

/** What every LLM peer offers a spec: what it saw, scripted replies, closed connections, and stop. */
export interface ScriptedPeer<Request> {
  readonly requests: Request[];
  enqueue(...replies: ScriptedReply[]): void;
  /** Requests whose client closed the connection before the answer was complete. */
  readonly clientClosed: number;
  stop(): Promise<void>;
}

/** The handle of a peer over `script`: the shared members, plus the peer's own (`baseURL`, …). */
export function scriptedPeer<Request, Own extends object>(
  script: LLMScript,
  requests: Request[],
  stop: () => Promise<void>,
  own: Own,
): ScriptedPeer<Request> & Own {
  const shared: ScriptedPeer<Request> = {
    requests,
    enqueue: (...replies) => script.enqueue(...replies),
    get clientClosed() {
      return script.clientClosed;
    },
    stop,
  };
  return Object.assign(shared, own);
}

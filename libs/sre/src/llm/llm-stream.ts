import type { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { Observable } from 'rxjs';
import type { LLMStreamEvent, LLMToolCall, ToolData } from './llm.backend';

/**
 * An Observable of a stream for Nest controllers (`@Sse()`): every event, the terminal `finish`
 * included, then completion (never an Observable error: a failure is the `finish` event's). Each
 * subscription makes its own call; unsubscribing stops the upstream request.
 */
export function toObservable(open: (signal: AbortSignal) => AsyncIterable<LLMStreamEvent>): Observable<LLMStreamEvent> {
  return new Observable<LLMStreamEvent>((subscriber) => {
    const controller = new AbortController();
    void (async () => {
      for await (const event of open(controller.signal)) {
        if (subscriber.closed) break;
        subscriber.next(event);
      }
      subscriber.complete();
    })().catch((error: unknown) => subscriber.error(error));
    return () => controller.abort(new DOMException('unsubscribed', 'AbortError'));
  });
}

export function toToolData(calls: LLMToolCall[]): ToolData[] {
  return calls.map((call, index) => ({
    index,
    id: call.id,
    type: 'function',
    name: call.name,
    arguments: call.arguments,
  }));
}

/**
 * The original's EventEmitter form, for code ported from the SRE: `content` per text delta,
 * `thinking`, `usage`, `toolInfo` (the calls, before the end), then `error` (only when someone
 * listens) or `abort`, and `end(toolsData, usageData, finishReason)` exactly once, last. Events
 * start on a later tick, after the caller attached its listeners.
 */
export function toEmitter(events: AsyncIterable<LLMStreamEvent>, logger: Logger): EventEmitter {
  const emitter = new EventEmitter();
  setImmediate(() => {
    void (async () => {
      const usage: unknown[] = [];
      for await (const event of events) {
        switch (event.type) {
          case 'text':
            emitter.emit('content', event.delta);
            break;
          case 'thinking':
            emitter.emit('thinking', event.delta);
            break;
          case 'usage':
            usage.push(event.usage);
            emitter.emit('usage', event.usage);
            break;
          case 'tool-call':
            break;
          case 'finish': {
            if (event.usage && usage.length === 0) usage.push(event.usage);
            const tools = toToolData(event.toolCalls);
            if (tools.length) emitter.emit('toolInfo', tools);
            if (event.finishReason === 'abort')
              emitter.emit('abort', new DOMException('This operation was aborted', 'AbortError'));
            else if (event.finishReason === 'error') {
              if (emitter.listenerCount('error') > 0) emitter.emit('error', event.error);
              else logger.warn(`stream failed with nobody listening for 'error': ${event.error?.message}`);
            }
            emitter.emit('end', tools, usage, event.finishReason);
          }
        }
      }
    })();
  });
  return emitter;
}

import {
  BadGatewayException,
  BadRequestException,
  Controller,
  HttpException,
  HttpStatus,
  Logger,
  MessageEvent,
  NotFoundException,
  Post,
  Query,
  Req,
  Res,
  Sse,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  AccessCandidate,
  LLMService,
  LLMStructuredOutputError,
  ModelsProviderService,
  SreAuthError,
  SreRateLimitError,
  type LLMChatParams,
  type LLMMessage,
  type LLMStreamEvent,
} from 'nestjs-sre';
import { map, Observable } from 'rxjs';
import { Team } from './candidate';
import { isClientAbort } from './http-safety';
import { parseJson, readBody } from './read-body';

const MAX_BODY_BYTES = 1 << 20;
/** The model when the request names none: answers with no key, so `npm start` chats out of the box. */
export const DEFAULT_CHAT_MODEL = 'echo';

interface ChatBody {
  model?: unknown;
  messages?: unknown;
  prompt?: unknown;
  stream?: unknown;
  tools?: unknown;
  toolChoice?: unknown;
  responseFormat?: unknown;
  params?: unknown;
}

/** A finish event's error as JSON (an Error serialises to `{}`). */
function wire(event: LLMStreamEvent): unknown {
  if (event.type !== 'finish' || !event.error) return event;
  return { ...event, error: { name: event.error.name, message: event.error.message } };
}

/**
 * `POST /chat`: one chat call as the caller's team, the model chosen by name from `/models`
 * (default `echo`). `stream: true` answers Server-Sent Events (`event: <type>`, the event as JSON)
 * ending with `finish`; a client that goes away aborts the upstream call. `GET /chat/stream?prompt=`
 * is the same stream through Nest's `@Sse()` and the service's Observable.
 */
@Controller('chat')
export class ChatController {
  private readonly logger = new Logger(ChatController.name);

  constructor(
    private readonly llm: LLMService,
    private readonly models: ModelsProviderService,
  ) {}

  @Post()
  async chat(@Req() req: Request, @Res() res: Response, @Team() team: AccessCandidate): Promise<void> {
    let text: string;
    try {
      text = await readBody(req, MAX_BODY_BYTES, 'chat requests');
    } catch (error) {
      if (isClientAbort(req, error)) return;
      throw error;
    }
    const body = parseJson(text || '{}', 'the body must be JSON') as ChatBody;
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new BadRequestException('the body must be a JSON object');
    const params = await this.paramsOf(body, team);
    if (body.stream !== true) {
      try {
        res.status(200).json(await this.llm.requester(team).chat(params));
      } catch (error) {
        throw httpErrorOf(error, res);
      }
      return;
    }
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    for await (const event of this.llm.requester(team).stream({ ...params, signal: controller.signal })) {
      if (controller.signal.aborted) break;
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(wire(event))}\n\n`);
    }
    if (controller.signal.aborted) this.logger.log('a chat stream ended early: its client went away');
    res.end();
  }

  @Sse('stream')
  async sse(
    @Team() team: AccessCandidate,
    @Query('prompt') prompt?: string,
    @Query('model') model?: string,
  ): Promise<Observable<MessageEvent>> {
    const params = await this.paramsOf({ prompt, model }, team);
    return this.llm
      .requester(team)
      .stream$(params)
      .pipe(map((event): MessageEvent => ({ type: event.type, data: wire(event) as object })));
  }

  private async paramsOf(body: ChatBody, team: AccessCandidate): Promise<LLMChatParams> {
    const model = body.model ?? DEFAULT_CHAT_MODEL;
    if (typeof model !== 'string' || model === '') throw new BadRequestException('model: a model name from /models');
    const known = await this.models.requester(team).getModels();
    if (!Object.hasOwn(known, model)) throw new NotFoundException(`no model '${model}' (GET /models lists them)`);
    const messages = body.messages;
    if (messages !== undefined && !(Array.isArray(messages) && messages.every(isMessage)))
      throw new BadRequestException('messages: a list of { role, content }');
    if (messages === undefined && typeof body.prompt !== 'string')
      throw new BadRequestException("give 'messages' or a 'prompt'");
    for (const key of ['params', 'responseFormat'] as const)
      if (body[key] !== undefined && (typeof body[key] !== 'object' || body[key] === null || Array.isArray(body[key])))
        throw new BadRequestException(`${key}: an object`);
    if (body.tools !== undefined && !Array.isArray(body.tools)) throw new BadRequestException('tools: a list');
    return {
      model,
      ...(messages !== undefined ? { messages: messages as LLMMessage[] } : { prompt: body.prompt as string }),
      ...(body.tools !== undefined ? { tools: body.tools as LLMChatParams['tools'] } : {}),
      ...(body.toolChoice !== undefined ? { toolChoice: body.toolChoice as LLMChatParams['toolChoice'] } : {}),
      ...(body.responseFormat !== undefined
        ? { responseFormat: body.responseFormat as LLMChatParams['responseFormat'] }
        : {}),
      ...(body.params !== undefined ? { params: body.params as Record<string, unknown> } : {}),
    };
  }
}

/**
 * The LLM errors whose sentence the caller can act on, as HTTP answers (the library's filter makes
 * every other backend failure a 500 without detail): a missing or refused key names the vault key,
 * a rate limit passes its delay on, a schema mismatch says what did not match.
 */
function httpErrorOf(error: unknown, res: Response): unknown {
  if (error instanceof SreAuthError) return new HttpException(error.message, HttpStatus.UNAUTHORIZED);
  if (error instanceof SreRateLimitError) {
    if (error.retryAfterMs !== undefined) res.setHeader('retry-after', String(Math.ceil(error.retryAfterMs / 1000)));
    return new HttpException(error.message, HttpStatus.TOO_MANY_REQUESTS);
  }
  if (error instanceof LLMStructuredOutputError) return new BadGatewayException(error.message);
  return error;
}

function isMessage(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { role?: unknown }).role === 'string' &&
    ['string', 'undefined'].includes(typeof (value as { content?: unknown }).content)
  );
}

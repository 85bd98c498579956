/* eslint-disable @typescript-eslint/no-require-imports -- the Bedrock SDK loads when this connector is first used */
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { sourceOf, type ConnectorContext } from '../../core/backend';
import type { AwsClientConfig } from '../../core/aws-client';
import { SreAuthError, type SreErrorSource } from '../../core/errors';
import { ClientsByCredential } from '../llm-credentials';
import { providerError } from '../llm-errors';
import type {
  LLMBackend,
  LLMChatResult,
  LLMProviderRequest,
  LLMStreamEvent,
  LLMToolCall,
  LLMUsage,
} from '../llm.backend';
import { converseInput, finishReasonOf, usageOf } from './bedrock-mapping';
import { parseArguments, ToolCallAssembler } from './openai-mapping';

type Sdk = typeof import('@aws-sdk/client-bedrock-runtime');
type Credentials = NonNullable<AwsClientConfig['credentials']>;

/**
 * Bedrock Runtime's Converse and ConverseStream APIs on `@aws-sdk/client-bedrock-runtime`. AWS
 * keys come from the model's `bedrock_vault` credentials (the caller's vault), else the kit's AWS
 * client config (`AwsClientConnection`), else the SDK's default chain (IAM roles); the region from
 * the model entry's `settings.region`, else that config; `baseURL` of the entry is the endpoint. One
 * client per key set, region and endpoint (W38); one attempt per call, the service retries.
 */
export class BedrockConnector implements LLMBackend {
  static readonly connectorName = 'Bedrock';
  readonly providers = ['Bedrock'] as const;
  private readonly source: SreErrorSource;
  private readonly aws?: AwsClientConfig;
  private readonly clients = new ClientsByCredential<BedrockRuntimeClient>({ dispose: (client) => client.destroy() });

  constructor(_settings: unknown, context: ConnectorContext<{ aws?: AwsClientConfig }>) {
    this.source = sourceOf(context);
    this.aws = context.deps?.aws;
  }

  async chat(request: LLMProviderRequest): Promise<LLMChatResult> {
    const { client, sdk } = this.client(request);
    try {
      const output = await client.send(new sdk.ConverseCommand(converseInput(request)), {
        abortSignal: request.abortSignal,
      });
      let content = '';
      let thinking = '';
      const toolCalls: LLMToolCall[] = [];
      for (const block of output.output?.message?.content ?? []) {
        if (block.text !== undefined) content += block.text;
        else if (block.reasoningContent?.reasoningText?.text) thinking += block.reasoningContent.reasoningText.text;
        else if (block.toolUse)
          toolCalls.push({
            id: block.toolUse.toolUseId ?? '',
            name: block.toolUse.name ?? '',
            arguments: (block.toolUse.input ?? {}) as Record<string, unknown>,
          });
      }
      return {
        content,
        toolCalls,
        finishReason: finishReasonOf(output.stopReason),
        usage: usageOf(output.usage),
        ...(thinking ? { thinking } : {}),
      };
    } catch (error) {
      throw this.failure(error, request);
    }
  }

  async *stream(request: LLMProviderRequest): AsyncIterable<LLMStreamEvent> {
    const { client, sdk } = this.client(request);
    const tools = new ToolCallAssembler();
    const blockTool = new Map<number, number>();
    let usage: LLMUsage | undefined;
    let stopReason: string | undefined;
    try {
      const output = await client.send(new sdk.ConverseStreamCommand(converseInput(request)), {
        abortSignal: request.abortSignal,
      });
      for await (const event of output.stream ?? []) {
        if (request.abortSignal?.aborted) throw request.abortSignal.reason;
        const start = event.contentBlockStart;
        if (start?.start?.toolUse) {
          const index = blockTool.size;
          blockTool.set(start.contentBlockIndex ?? 0, index);
          const { toolUseId, name } = start.start.toolUse;
          tools.add(index, toolUseId, name);
          yield { type: 'tool-call', index, id: toolUseId, name, argumentsDelta: '' };
        }
        const delta = event.contentBlockDelta?.delta;
        if (delta?.text) yield { type: 'text', delta: delta.text };
        else if (delta?.reasoningContent?.text) yield { type: 'thinking', delta: delta.reasoningContent.text };
        else if (delta?.toolUse?.input !== undefined) {
          const index = blockTool.get(event.contentBlockDelta?.contentBlockIndex ?? 0) ?? 0;
          tools.add(index, undefined, undefined, delta.toolUse.input);
          yield { type: 'tool-call', index, argumentsDelta: delta.toolUse.input };
        }
        if (event.messageStop) stopReason = event.messageStop.stopReason;
        if (event.metadata?.usage) usage = usageOf(event.metadata.usage);
      }
    } catch (error) {
      throw this.failure(error, request);
    }
    // no messageStop: the stream was cut before the answer was complete
    if (!stopReason) throw this.failure(new Error('the stream ended before the answer was complete'), request);
    if (usage) yield { type: 'usage', usage };
    const toolCalls = tools.result().map((call) => ({ ...call, arguments: call.arguments ?? parseArguments('') }));
    yield { type: 'finish', finishReason: finishReasonOf(stopReason), toolCalls };
  }

  async disconnect(): Promise<void> {
    this.clients.clear();
  }

  private client(request: LLMProviderRequest): { client: BedrockRuntimeClient; sdk: Sdk } {
    const sdk = require('@aws-sdk/client-bedrock-runtime') as Sdk;
    const credentials = this.credentials(request);
    const settings = (request.context.modelInfo.settings ?? {}) as { region?: unknown };
    const region =
      (typeof settings.region === 'string' && settings.region) ||
      this.aws?.region ||
      process.env.AWS_REGION ||
      'us-east-1';
    const endpoint = request.params.baseURL ?? this.aws?.endpoint;
    const client = this.clients.get({ credentials: credentials ?? null, region, endpoint: endpoint ?? null }, () => {
      return new sdk.BedrockRuntimeClient({
        region,
        maxAttempts: 1,
        ...(credentials ? { credentials } : {}),
        ...(endpoint ? { endpoint } : {}),
      });
    });
    return { client, sdk };
  }

  /** The caller's keys (`bedrock_vault`), else the kit's; a `bedrock_vault` model without keys is refused by name. */
  private credentials(request: LLMProviderRequest): Credentials | undefined {
    const found = request.context.credentials as Partial<Credentials>;
    if (found.accessKeyId && found.secretAccessKey)
      return {
        accessKeyId: found.accessKeyId,
        secretAccessKey: found.secretAccessKey,
        ...(found.sessionToken ? { sessionToken: found.sessionToken } : {}),
      };
    const { modelInfo, modelEntryName, keyHint } = request.context;
    const modes = Array.isArray(modelInfo.credentials) ? modelInfo.credentials : [modelInfo.credentials];
    if (modes.length === 1 && modes[0] === 'bedrock_vault') {
      const settings = (modelInfo.settings ?? {}) as { keyIDName?: unknown };
      throw new SreAuthError(
        `LLM(${this.source.connector}): no AWS keys for model '${modelEntryName}': looked in ${keyHint ?? 'the vault'}`,
        this.source,
        typeof settings.keyIDName === 'string' ? settings.keyIDName : undefined,
      );
    }
    return this.aws?.credentials;
  }

  private failure(error: unknown, request: LLMProviderRequest) {
    return providerError(error, this.source, 'Bedrock', request.context.keyHint ?? 'the AWS credentials');
  }
}

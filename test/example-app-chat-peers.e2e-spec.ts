import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { startAnthropicPeer, type AnthropicPeer } from './peers/anthropic';
import { startOpenAIPeer, type OpenAIPeer } from './peers/openai';
import { sseEvents } from './support/example-chat-routes';
import { eventually } from './support/llm-chat-harness';
import { rawRequest } from './support/http';

const json = { 'content-type': 'application/json' };

/**
 * The example app with models of its own on the OpenAI and Anthropic peers (SRE_CONFIG_JSON): one
 * `POST /chat` routes each model to its provider's connector, and a client that leaves a stream
 * closes the upstream request.
 */
describe('example app: /chat routed to provider peers (in process)', () => {
  let app: INestApplication;
  let baseUrl: string;
  let dataDir: string;
  let openai: OpenAIPeer;
  let anthropic: AnthropicPeer;
  const saved = { SRE_DATA_DIR: process.env.SRE_DATA_DIR, SRE_CONFIG_JSON: process.env.SRE_CONFIG_JSON };

  beforeAll(async () => {
    [openai, anthropic] = await Promise.all([
      startOpenAIPeer({ apiKeys: ['sk-app'] }),
      startAnthropicPeer({ apiKeys: ['ak-app'] }),
    ]);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-chat-peers-'));
    process.env.SRE_DATA_DIR = dataDir;
    process.env.SRE_CONFIG_JSON = JSON.stringify({
      ModelsProvider: {
        Connector: 'JSONModelsProvider',
        Settings: {
          mode: 'merge',
          models: {
            'peer-gpt': {
              modelId: 'gpt-test',
              provider: 'OpenAI',
              baseURL: openai.baseURL,
              credentials: { apiKey: 'sk-app' },
            },
            'peer-claude': {
              modelId: 'claude-test-model',
              provider: 'Anthropic',
              baseURL: anthropic.baseURL,
              credentials: { apiKey: 'ak-app' },
            },
          },
        },
      },
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- Jest runs CommonJS: import() needs vm modules
    const { AppModule } = require('../src/app.module') as typeof import('../src/app.module');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
    const { setupApp } = require('../src/setup-app') as typeof import('../src/setup-app');
    app = setupApp(await NestFactory.create(AppModule, { bodyParser: false, logger: ['error', 'warn'] }));
    await app.listen(0, '127.0.0.1');
    baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    await Promise.all([openai?.stop(), anthropic?.stop()]);
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists the configured models and routes each to its provider', async () => {
    const models = JSON.parse((await rawRequest(baseUrl, 'GET', '/models')).body.toString()) as {
      models: { name: string }[];
    };
    expect(models.models.map((model) => model.name)).toEqual(
      expect.arrayContaining(['echo', 'peer-gpt', 'peer-claude']),
    );
    for (const [model, peer] of [
      ['peer-gpt', openai],
      ['peer-claude', anthropic],
    ] as const) {
      const before = peer.requests.length;
      const res = await rawRequest(baseUrl, 'POST', '/chat', {
        body: JSON.stringify({ model, prompt: `hi ${model}` }),
        headers: json,
      });
      expect([model, res.status, JSON.parse(res.body.toString()).content]).toEqual([model, 200, `hi ${model}`]);
      expect(peer.requests.length).toBe(before + 1);
    }
  });

  it('streams a provider answer as SSE', async () => {
    const res = await rawRequest(baseUrl, 'POST', '/chat', {
      body: JSON.stringify({ model: 'peer-claude', prompt: 'one two', stream: true }),
      headers: json,
    });
    const events = sseEvents(res.body.toString());
    expect(events.filter(([name]) => name === 'text').map(([, data]) => data.delta)).toEqual(['one', ' two']);
    expect(events.at(-1)![0]).toBe('finish');
  });

  it('closes the upstream request when the SSE client goes away', async () => {
    const closed = openai.clientClosed;
    openai.enqueue({ content: Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '), chunkDelayMs: 10 });
    await new Promise<void>((resolve, reject) => {
      const req = http.request(`${baseUrl}/chat`, { method: 'POST', headers: json }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.once('error', reject);
      req.end(JSON.stringify({ model: 'peer-gpt', prompt: 'long', stream: true }));
    });
    await eventually(() => openai.clientClosed === closed + 1);
  });
});

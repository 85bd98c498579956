import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startExampleApp, type RunningApp } from './support/app-process';
import { describeChatRoutes } from './support/example-chat-routes';

/**
 * The example app's chat routes on its embedded defaults (the `echo` model, no key, no network),
 * the app module built in this process (the routes themselves are also what `npm start` serves).
 */
describe('example app: /chat (in process)', () => {
  let app: INestApplication;
  let baseUrl: string;
  let dataDir: string;
  const saved = {
    SRE_DATA_DIR: process.env.SRE_DATA_DIR,
    SRE_CONFIG: process.env.SRE_CONFIG,
    SRE_CONFIG_JSON: process.env.SRE_CONFIG_JSON,
  };

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-chat-e2e-'));
    process.env.SRE_DATA_DIR = dataDir;
    delete process.env.SRE_CONFIG;
    delete process.env.SRE_CONFIG_JSON;
    // imported after the environment is set: the module reads its config when it is declared
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
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  describeChatRoutes(() => ({ baseUrl }));
});

/** The same routes on the built app, as `npm start` runs it (its own process, no key, no network). */
describe('example app: /chat (built, own process)', () => {
  let app: RunningApp;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-chat-built-'));
    app = await startExampleApp({ SRE_DATA_DIR: dataDir, SRE_CONFIG: '', SRE_CONFIG_JSON: '' });
  });

  afterAll(async () => {
    const exit = await app?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
  });

  describeChatRoutes(() => app);
});

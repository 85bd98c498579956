import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface InProcessApp {
  readonly baseUrl: string;
  stop(): Promise<void>;
}

/**
 * The example app's module built in this process on its embedded defaults (a fresh data folder,
 * no SRE_CONFIG), listening on a free port of 127.0.0.1; `stop` closes it and restores the
 * environment.
 */
export async function startExampleAppInProcess(prefix: string): Promise<InProcessApp> {
  const saved = {
    SRE_DATA_DIR: process.env.SRE_DATA_DIR,
    SRE_CONFIG: process.env.SRE_CONFIG,
    SRE_CONFIG_JSON: process.env.SRE_CONFIG_JSON,
  };
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.env.SRE_DATA_DIR = dataDir;
  delete process.env.SRE_CONFIG;
  delete process.env.SRE_CONFIG_JSON;
  // imported after the environment is set: the module reads its config when it is declared
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- Jest runs CommonJS: import() needs vm modules
  const { AppModule } = require('../../src/app.module') as typeof import('../../src/app.module');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
  const { setupApp } = require('../../src/setup-app') as typeof import('../../src/setup-app');
  const app: INestApplication = setupApp(
    await NestFactory.create(AppModule, { bodyParser: false, logger: ['error', 'warn'] }),
  );
  await app.listen(0, '127.0.0.1');
  const baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    baseUrl,
    stop: async () => {
      await app.close();
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

import { Injectable, type INestApplication, Module, type OnModuleInit } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { RouterService, SreModule, StorageService } from 'nestjs-sre';

/** Storage temporary URLs served by ExpressRouter on the Nest application's own HTTP server. */
describe('Storage temporary URLs (e2e)', () => {
  let dataDir: string;
  let app: INestApplication | undefined;

  @Injectable()
  class Files implements OnModuleInit {
    constructor(readonly storage: StorageService) {}

    async onModuleInit(): Promise<void> {
      await this.storage.user('alice').write('report.html', '<h1>report</h1>', undefined, { ContentType: 'text/html' });
    }
  }

  @Module({ providers: [Files] })
  class FilesModule {}

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-temp-url-'));
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves a temporary URL on the listening app, then 404 once revoked', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SreModule.forRoot({
          Storage: { Connector: 'LocalStorage', Settings: { folder: dataDir } },
          Router: { Connector: 'ExpressRouter' },
        }),
        FilesModule,
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0);
    const { port } = app.getHttpServer().address() as { port: number };
    expect(app.get(RouterService).baseUrl).toBe(`http://localhost:${port}`);

    const storage = app.get(StorageService);
    const url = await storage.user('alice').createTempUrl('report.html', { ttlSeconds: 30 });
    expect(url).toMatch(new RegExp(`^http://localhost:${port}/_sre/storage/[A-Za-z0-9_-]{43}$`));
    const { pathname } = new URL(url);

    const served = await request(app.getHttpServer()).get(pathname);
    expect(served.status).toBe(200);
    expect(served.headers['content-type']).toMatch(/^text\/html/);
    expect(served.headers['content-security-policy']).toBe('sandbox');
    expect(served.text).toBe('<h1>report</h1>');
    // the real URL works too, through the listening server
    expect(await (await fetch(url)).text()).toBe('<h1>report</h1>');

    expect(storage.revokeTempUrl(url)).toBe(true);
    expect((await request(app.getHttpServer()).get(pathname)).status).toBe(404);
    await expect(storage.user('eve').createTempUrl('report.html')).rejects.toMatchObject({
      name: 'ACLAccessDeniedError',
    });
  });

  it('builds links that lead nowhere with the default NullRouter', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SreModule.forRoot({ Storage: { Connector: 'LocalStorage', Settings: { folder: dataDir } } }),
        FilesModule,
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const url = await app.get(StorageService).user('alice').createTempUrl('report.html');
    expect(url).toMatch(/^http:\/\/nullrouter\.local\/_sre\/storage\//);
    expect((await request(app.getHttpServer()).get(new URL(url).pathname)).status).toBe(404);
  });
});

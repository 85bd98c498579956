import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { createConnectorContext } from '../../core/backend';
import { validateSettings } from '../../core/settings';
import { describeModelsProviderBackend } from '../../testing/models-provider.contract';
import { fakeAccountModule } from '../../testing/subsystem-module.testkit';
import { ModelsProviderModule } from '../models-provider.module';
import { ModelsProviderService } from '../models-provider.service';
import {
  BUILTIN_MODELS,
  JSONModelsProviderConnector,
  JSONModelsProviderSettings,
  readModelsFile,
} from './json-models-provider.connector';

const context = createConnectorContext({ subsystem: 'ModelsProvider', connector: 'JSONModelsProvider' });
const BUILTIN_NAMES = Object.keys(BUILTIN_MODELS).sort();

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-models-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let folders = 0;
/** A fresh folder holding `files` (relative path → JSON value). */
function folderWith(files: Record<string, unknown>): string {
  const dir = path.join(root, `case-${++folders}`);
  for (const [name, content] of Object.entries(files)) write(dir, name, content);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function write(dir: string, name: string, content: unknown): void {
  fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  fs.writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
}

/** Resolves when `promise` does, or fails after `ms` (a bounded wait, not a sleep). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const opened: JSONModelsProviderConnector[] = [];
async function open(settings: Partial<JSONModelsProviderSettings>): Promise<JSONModelsProviderConnector> {
  const provider = new JSONModelsProviderConnector(settings as JSONModelsProviderSettings, context);
  opened.push(provider);
  await provider.connect();
  return provider;
}
afterEach(async () => {
  for (const provider of opened.splice(0)) await provider.disconnect();
});

describeModelsProviderBackend('JSONModelsProvider', () => new JSONModelsProviderConnector({ models: {} }, context));
describeModelsProviderBackend(
  'JSONModelsProvider (folder)',
  () =>
    new JSONModelsProviderConnector(
      { models: folderWith({ 'a.json': { 'dir-a': { modelId: 'a-1', provider: 'OpenAI' } } }), watch: false },
      context,
    ),
);

describe('JSONModelsProvider', () => {
  it('defaults to merge (W41) and serves the built-ins offline when nothing is configured', async () => {
    expect(new JSONModelsProviderSettings().mode).toBe('merge');
    const provider = await open({});
    expect(Object.keys(await provider.readModels()).sort()).toEqual(BUILTIN_NAMES);
    expect(BUILTIN_MODELS.echo).toMatchObject({ modelId: 'echo', provider: 'Echo', credentials: 'none' });
    expect(provider.origin).toBe('builtins');
  });

  it('takes an inline object: merged over the built-ins by default, alone with mode replace', async () => {
    const models = { mine: { modelId: 'mine-1', provider: 'OpenAI' }, echo: { modelId: 'echo-2', provider: 'Echo' } };
    const merged = await (await open({ models })).readModels();
    expect(Object.keys(merged).sort()).toEqual([...BUILTIN_NAMES, 'mine'].sort());
    expect(merged.echo.modelId).toBe('echo-2');
    const replaced = await (await open({ models, mode: 'replace' })).readModels();
    expect(Object.keys(replaced).sort()).toEqual(['echo', 'mine']);
  });

  it('takes one file: a map of entries, or a single entry keyed by its modelId', async () => {
    const dir = folderWith({
      'map.json': { one: { modelId: 'one-1' }, two: { modelId: 'two-1', provider: 'Groq' } },
      'single.json': { modelId: 'solo-1', provider: 'Ollama', tokens: 8192 },
    });
    const map = await open({ models: path.join(dir, 'map.json'), mode: 'replace' });
    expect(Object.keys(await map.readModels()).sort()).toEqual(['one', 'two']);
    expect(map.origin).toBe(path.join(dir, 'map.json'));
    const single = await open({ models: path.join(dir, 'single.json') });
    expect((await single.readModels())['solo-1']).toMatchObject({ provider: 'Ollama', tokens: 8192 });
    expect(Object.keys(await single.readModels())).toEqual(expect.arrayContaining(BUILTIN_NAMES));
  });

  it('reads a folder recursively, skipping dot names and other files, later files overriding earlier ones', async () => {
    const dir = folderWith({
      'a.json': { shared: { modelId: 'from-a' }, a: { modelId: 'a-1' } },
      'b.json': { shared: { modelId: 'from-b' } },
      'nested/c.json': { modelId: 'c-1' },
      '.hidden/d.json': { d: { modelId: 'd-1' } },
      '.e.json': { e: { modelId: 'e-1' } },
      'notes.txt': 'not json',
    });
    const provider = await open({ models: dir, mode: 'replace', watch: false });
    const models = await provider.readModels();
    expect(Object.keys(models).sort()).toEqual(['a', 'c-1', 'shared']);
    expect(models.shared.modelId).toBe('from-b');
    expect(provider.origin).toBe(dir);
  });

  it('finds the models folder in the data dir when models is unset', async () => {
    const dataDir = path.join(root, 'data-dir');
    write(path.join(dataDir, 'models'), 'x.json', { found: { modelId: 'found-1' } });
    const provider = new JSONModelsProviderConnector(
      { watch: false },
      createConnectorContext({ subsystem: 'ModelsProvider', connector: 'JSONModelsProvider', dataDir }),
    );
    opened.push(provider);
    const models = await provider.readModels();
    expect(models.found).toEqual({ modelId: 'found-1' });
    expect(Object.keys(models)).toEqual(expect.arrayContaining(BUILTIN_NAMES));
  });

  it('refuses invalid entries, naming the file and the entries, never their content', async () => {
    const dir = folderWith({
      'good.json': { ok: { modelId: 'ok-1' } },
      'bad.json': {
        'no-id': { provider: 'OpenAI', credentials: { apiKey: 'sk-secret' } },
        'bad-provider': { modelId: 'x', provider: 7 },
      },
      'broken/x.json': '{ not json',
    });
    const bad = path.join(dir, 'bad.json');
    await expect(readModelsFile(bad)).rejects.toThrow(
      `models file ${bad}: invalid model entries (need a string modelId, provider a string): 'no-id', 'bad-provider'`,
    );
    await expect(readModelsFile(path.join(dir, 'broken/x.json'))).rejects.toThrow(
      `models file ${path.join(dir, 'broken/x.json')} is not valid JSON`,
    );
    const failing = new JSONModelsProviderConnector({ models: dir, watch: false }, context);
    const error = (await failing.connect().catch((caught: unknown) => caught)) as Error;
    expect(error.message).toContain(`models file ${bad}: invalid model entries`);
    expect(error.message).not.toContain('sk-secret');
    await expect(new JSONModelsProviderConnector({ models: bad }, context).connect()).rejects.toThrow("'no-id'");
    await expect(
      new JSONModelsProviderConnector({ models: path.join(dir, 'missing.json') }, context).connect(),
    ).rejects.toThrow('does not exist');
    expect(() => new JSONModelsProviderConnector({ models: { x: { provider: 'OpenAI' } } }, context)).toThrow(
      "settings.models: invalid model entries (need a string modelId, provider a string): 'x'",
    );
  });

  it('validates its settings at boot, naming the bad entries', () => {
    const problems = (settings: object): string =>
      validateSettings(JSONModelsProviderSettings, settings, 'ModelsProvider(JSONModelsProvider)').problems.join('\n');
    expect(problems({ models: { x: { modelId: 1 } } })).toContain("'x'");
    expect(problems({ mode: 'append' })).toContain('mode');
    expect(problems({ models: 42 })).toContain('models');
    expect(problems({ models: { ok: { modelId: 'ok' } }, mode: 'replace' })).toBe('');
  });

  it('rebuilds from the folder on reload: added files appear, deleted files disappear (W42)', async () => {
    const dir = folderWith({ 'a.json': { a: { modelId: 'a-1' } } });
    const provider = await open({ models: dir, mode: 'merge', watch: false });
    write(dir, 'b.json', { b: { modelId: 'b-1' } });
    await provider.reload();
    expect(Object.keys(await provider.readModels())).toEqual(expect.arrayContaining(['a', 'b']));
    fs.rmSync(path.join(dir, 'a.json'));
    await provider.reload();
    const models = await provider.readModels();
    expect(models).not.toHaveProperty('a');
    expect(models.b).toEqual({ modelId: 'b-1' });
    expect(Object.keys(models)).toEqual(expect.arrayContaining(BUILTIN_NAMES));
  });

  it('keeps the last good models of a file that became invalid, with a warning naming it', async () => {
    const warn = jest.spyOn(context.logger, 'warn').mockImplementation(() => undefined);
    try {
      const dir = folderWith({ 'a.json': { a: { modelId: 'a-1' } } });
      const provider = await open({ models: dir, mode: 'replace', watch: false });
      write(dir, 'a.json', { a: { modelId: 'a-2' }, broken: {} });
      write(dir, 'new.json', '{ half written');
      await provider.reload();
      expect(await provider.readModels()).toEqual({ a: { modelId: 'a-1' } });
      expect(warn.mock.calls.map(([line]) => String(line))).toEqual([
        `models file ${path.join(dir, 'a.json')}: invalid model entries (need a string modelId, provider a string): 'broken'; its last good models are kept`,
        `models file ${path.join(dir, 'new.json')} is not valid JSON; it is skipped`,
      ]);
    } finally {
      warn.mockRestore();
    }
  });

  it('watches the folder: a change is picked up after the debounce, without a call', async () => {
    const dir = folderWith({ 'a.json': { a: { modelId: 'a-1' } } });
    const provider = await open({ models: dir, mode: 'replace', debounceMs: 20 });
    let reloaded = provider.nextReload();
    write(dir, 'b.json', { b: { modelId: 'b-1' } });
    await within(reloaded, 5000, 'the watcher to see b.json');
    // a burst of events may end in more than one reload: wait for the one that saw the file
    for (let i = 0; i < 5 && !(await provider.readModels()).b; i++) await within(provider.nextReload(), 5000, 'b.json');
    expect(Object.keys(await provider.readModels()).sort()).toEqual(['a', 'b']);
    reloaded = provider.nextReload();
    fs.rmSync(path.join(dir, 'a.json'));
    await within(reloaded, 5000, 'the watcher to see a.json deleted');
    for (let i = 0; i < 5 && (await provider.readModels()).a; i++)
      await within(provider.nextReload(), 5000, 'a.json gone');
    expect(Object.keys(await provider.readModels())).toEqual(['b']);
  });

  it('gives the limits of a known foundation model to enterprise models built on it', async () => {
    const provider = await open({});
    expect(provider.customModelDefaults('gpt-4o')).toEqual({ tokens: 128_000, completionTokens: 16_384 });
    expect(provider.customModelDefaults('unknown-model')).toBeUndefined();
  });

  it("is registered as 'JSONModelsProvider' and boots by name with its settings", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        fakeAccountModule({ a1: 'team-a' }),
        ModelsProviderModule.forRoot({
          connector: 'JSONModelsProvider',
          settings: { models: { 'team-model': { modelId: 'tm-1', provider: 'OpenAI' } } },
        }),
      ],
    }).compile();
    await moduleRef.init();
    try {
      const models = await moduleRef.get(ModelsProviderService).agent('a1').getModels();
      expect(models['team-model']).toMatchObject({ modelId: 'tm-1' });
      expect(models.echo).toMatchObject({ provider: 'Echo' });
    } finally {
      await moduleRef.close();
    }
  });
});

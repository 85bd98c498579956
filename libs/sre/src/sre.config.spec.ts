import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SreConfigError } from './core/errors';
import { interpolateEnv, isFromEnvironment, loadSreConfig, SRE_DEFAULTS } from './sre.config';

const SECRET = 'sk-live-9f8e7d6c5b4a-DO-NOT-PRINT';

function errorOf(run: () => unknown): SreConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SreConfigError);
    return error as SreConfigError;
  }
  throw new Error('expected an SreConfigError');
}

/** Everything an error could show: message, stack, problems, cause. */
function everything(error: SreConfigError): string {
  return [error.message, error.stack, ...error.problems, String(error.cause ?? '')].join('\n');
}

describe('interpolateEnv', () => {
  it('replaces ${VAR} and ${VAR:-fallback} (unset or empty, like the shell) in every string, deeply', () => {
    const env = { REGION: 'eu-west-1', KEY: SECRET, EMPTY: '', PORT: '6380' };
    const problems: string[] = [];
    const out = interpolateEnv(
      {
        Vault: {
          Connector: 'SecretsManager',
          Settings: { region: '${REGION}', secretAccessKey: '${KEY}', prefix: 'sre-${REGION}-x', port: 443 },
        },
        Cache: [
          {
            Connector: 'Redis',
            Settings: {
              url: '${REDIS_URL:-redis://localhost:6379}',
              name: '${EMPTY:-fallback}',
              bare: '${EMPTY}',
              port: '${PORT:-6379}',
              tls: true,
            },
          },
        ],
      },
      env,
      problems,
    );
    expect(problems).toEqual([]);
    expect(out).toEqual({
      Vault: {
        Connector: 'SecretsManager',
        Settings: { region: 'eu-west-1', secretAccessKey: SECRET, prefix: 'sre-eu-west-1-x', port: 443 },
      },
      Cache: [
        {
          Connector: 'Redis',
          Settings: { url: 'redis://localhost:6379', name: 'fallback', bare: '', port: '6380', tls: true },
        },
      ],
    });
  });

  it('reports a missing variable by path and name, never a value', () => {
    const problems: string[] = [];
    const out = interpolateEnv(
      {
        Vault: { Settings: { key: '${MISSING_KEY}', other: '${PRESENT}' } },
        Cache: [{ Settings: { url: '${NO_URL}' } }],
      },
      { PRESENT: SECRET },
      problems,
    );
    expect(problems).toEqual([
      'config.Vault.Settings.key: environment variable MISSING_KEY is not set',
      'config.Cache[0].Settings.url: environment variable NO_URL is not set',
    ]);
    expect(problems.join('\n')).not.toContain(SECRET);
    expect(out.Vault.Settings.key).toBe('${MISSING_KEY}');
  });

  it('leaves non-plain values (connector classes, instances) untouched', () => {
    class MyConnector {}
    const date = new Date(0);
    const out = interpolateEnv({ Storage: { Connector: MyConnector, Settings: { since: date, n: null } } }, {});
    expect(out.Storage.Connector).toBe(MyConnector);
    expect(out.Storage.Settings.since).toBe(date);
    expect(out.Storage.Settings.n).toBeNull();
  });

  it('marks every string it filled from the environment, so that messages can leave it out', () => {
    const out = interpolateEnv(
      { Cache: { Connector: '${NAME}', Settings: { hosts: ['a', '${HOST:-b}'], plain: 'x' } } },
      { NAME: 'RAM' },
    );
    expect(out.Cache.Connector).toBe('RAM');
    expect(isFromEnvironment(out.Cache, 'Connector')).toBe(true);
    expect(isFromEnvironment(out.Cache.Settings.hosts, 1)).toBe(true);
    expect(isFromEnvironment(out.Cache.Settings.hosts, 0)).toBe(false);
    expect(isFromEnvironment(out.Cache.Settings, 'plain')).toBe(false);
    expect(
      isFromEnvironment(
        loadSreConfig({ env: { SRE_CONFIG_JSON: '{"Log":{"Connector":"${L}"}}', L: 'ConsoleLog' } }).Log,
        'Connector',
      ),
    ).toBe(true);
    expect(isFromEnvironment(undefined, 'x')).toBe(false);
  });

  it('does not expand names that are not variable references', () => {
    expect(interpolateEnv('$HOME ${1BAD} ${ok', { HOME: '/root' })).toBe('$HOME ${1BAD} ${ok');
  });
});

describe('loadSreConfig', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-config-spec-'));
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function write(name: string, text: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  }

  it('returns {} (all defaults) when nothing is configured', () => {
    expect(loadSreConfig({ env: {} })).toEqual({});
  });

  it('reads the file named by SRE_CONFIG and fills ${VAR} from the environment', () => {
    const file = write(
      'sre.json',
      JSON.stringify({ Vault: { Connector: 'SecretsManager', Settings: { secretAccessKey: '${AWS_SECRET}' } } }),
    );
    expect(loadSreConfig({ env: { SRE_CONFIG: file, AWS_SECRET: SECRET } })).toEqual({
      Vault: { Connector: 'SecretsManager', Settings: { secretAccessKey: SECRET } },
    });
  });

  it('prefers an explicit file and the file over SRE_CONFIG_JSON', () => {
    const a = write('a.json', '{"Storage":{"Connector":"A"}}');
    const b = write('b.json', '{"Storage":{"Connector":"B"}}');
    expect(loadSreConfig({ file: a, env: { SRE_CONFIG: b } })).toEqual({ Storage: { Connector: 'A' } });
    expect(loadSreConfig({ env: { SRE_CONFIG: b, SRE_CONFIG_JSON: '{"Storage":{"Connector":"J"}}' } })).toEqual({
      Storage: { Connector: 'B' },
    });
  });

  it('reads SRE_CONFIG_JSON', () => {
    expect(
      loadSreConfig({
        env: {
          SRE_CONFIG_JSON: '{"Cache":{"Connector":"RAM"},"Storage":[{"Connector":"LocalStorage","Id":"${ID:-main}"}]}',
        },
      }),
    ).toEqual({
      Cache: { Connector: 'RAM' },
      Storage: [{ Connector: 'LocalStorage', Id: 'main' }],
    });
  });

  it('names a missing file and the reason', () => {
    const missing = path.join(dir, 'nope.json');
    const error = errorOf(() => loadSreConfig({ env: { SRE_CONFIG: missing } }));
    expect(error.problems).toEqual([`SRE_CONFIG: cannot read ${missing} (ENOENT)`]);
  });

  it('reports invalid JSON by position without echoing the text', () => {
    for (const text of [
      `{"Vault": {"Settings": {"key": "${SECRET}" }`,
      `{"Vault": {"Settings": {"key": ${SECRET}}}}`,
      `{"key": "${SECRET}", }`,
    ]) {
      const file = write('broken.json', text);
      const error = errorOf(() => loadSreConfig({ env: { SRE_CONFIG: file } }));
      expect(error.problems[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON`));
      expect(everything(error)).not.toContain(SECRET);
      expect(everything(error)).not.toContain('sk-live');
      const fromEnv = errorOf(() => loadSreConfig({ env: { SRE_CONFIG_JSON: text } }));
      expect(fromEnv.problems[0]).toMatch(/^SRE_CONFIG_JSON: not valid JSON/);
      expect(everything(fromEnv)).not.toContain(SECRET);
    }
  });

  it('gives the position of a JSON error when V8 reports one', () => {
    const error = errorOf(() => loadSreConfig({ env: { SRE_CONFIG_JSON: '{"a": 1,, "b": 2}' } }));
    expect(error.problems[0]).toMatch(/^SRE_CONFIG_JSON: not valid JSON \(error at character \d+\)$/);
  });

  it('refuses JSON that is not an object', () => {
    for (const text of ['[]', '42', 'null', '"text"', 'true']) {
      expect(errorOf(() => loadSreConfig({ env: { SRE_CONFIG_JSON: text } })).problems).toEqual([
        'SRE_CONFIG_JSON: must be a JSON object',
      ]);
    }
    const file = write('list.json', `["${SECRET}"]`);
    const error = errorOf(() => loadSreConfig({ env: { SRE_CONFIG: file } }));
    expect(error.problems).toEqual([`${file}: must be a JSON object`]);
  });

  it('lists every missing variable at once, prefixed by where the config came from', () => {
    const file = write(
      'sre.json',
      JSON.stringify({ Vault: { Settings: { a: '${NOPE_A}', b: '${NOPE_B}', c: '${SET}' } } }),
    );
    const error = errorOf(() => loadSreConfig({ env: { SRE_CONFIG: file, SET: SECRET } }));
    expect(error.problems).toEqual([
      `${file}: config.Vault.Settings.a: environment variable NOPE_A is not set`,
      `${file}: config.Vault.Settings.b: environment variable NOPE_B is not set`,
    ]);
    expect(everything(error)).not.toContain(SECRET);
  });
});

describe('SRE_DEFAULTS', () => {
  it("are the seed's defaults, frozen, with no LLM or Code entry", () => {
    expect(Object.isFrozen(SRE_DEFAULTS)).toBe(true);
    expect(SRE_DEFAULTS.Vault).toEqual({ Connector: 'JSONFileVault' });
    expect(SRE_DEFAULTS.Storage).toEqual({ Connector: 'LocalStorage' });
    expect(SRE_DEFAULTS.Cache).toEqual({ Connector: 'RAM' });
    expect(SRE_DEFAULTS.LLM).toBeUndefined();
    expect(SRE_DEFAULTS.Code).toBeUndefined();
  });
});

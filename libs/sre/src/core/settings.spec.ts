import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Min, ValidateNested } from 'class-validator';
import { validateSettings } from './settings';

class RedisSettings {
  @IsString()
  host = 'localhost';

  @IsInt()
  @Min(1)
  port = 6379;
}

class DemoSettings {
  @IsString()
  region!: string;

  @IsOptional()
  @IsInt()
  @Min(10)
  timeoutMs = 5_000;

  @IsOptional()
  @IsIn(['json', 'text'])
  format = 'json';

  @IsOptional()
  @ValidateNested()
  @Type(() => RedisSettings)
  redis: RedisSettings = new RedisSettings();
}

const PREFIX = 'Vault(SecretsManager).settings';
const SECRET = 'sk-live-7f3a9c1e5b2d4f60-DO-NOT-PRINT';

describe('validateSettings', () => {
  it('returns an instance of the settings class with defaults filled', () => {
    const { settings, problems } = validateSettings(
      DemoSettings,
      { region: 'eu-west-1', redis: { port: 6380 } },
      PREFIX,
    );
    expect(problems).toEqual([]);
    expect(settings).toBeInstanceOf(DemoSettings);
    expect(settings).toEqual(
      Object.assign(new DemoSettings(), {
        region: 'eu-west-1',
        redis: Object.assign(new RedisSettings(), { port: 6380 }),
      }),
    );
    expect(settings.timeoutMs).toBe(5_000);
    expect(settings.redis).toBeInstanceOf(RedisSettings);
    expect(settings.redis.host).toBe('localhost');
  });

  it('names a missing or mistyped field with the subsystem and connector prefix', () => {
    expect(validateSettings(DemoSettings, {}, PREFIX).problems).toEqual([`${PREFIX}.region: must be a string`]);
    expect(validateSettings(DemoSettings, undefined, PREFIX).problems).toEqual([`${PREFIX}.region: must be a string`]);
  });

  it('reports an unknown setting by name', () => {
    expect(validateSettings(DemoSettings, { region: 'r', foo: 1 }, PREFIX).problems).toEqual([
      `${PREFIX}.foo: unknown setting`,
    ]);
  });

  it('validates nested settings objects', () => {
    expect(
      validateSettings(DemoSettings, { region: 'r', redis: { port: 0, bogus: true } }, PREFIX).problems.sort(),
    ).toEqual([`${PREFIX}.redis.bogus: unknown setting`, `${PREFIX}.redis.port: must not be less than 1`].sort());
  });

  it('reports every problem at once', () => {
    const { problems } = validateSettings(
      DemoSettings,
      { region: 42, timeoutMs: 3, format: 'xml', foo: 'x', redis: { host: 7 } },
      PREFIX,
    );
    expect(problems.sort()).toEqual(
      [
        `${PREFIX}.region: must be a string`,
        `${PREFIX}.timeoutMs: must not be less than 10`,
        `${PREFIX}.format: must be one of the following values: json, text`,
        `${PREFIX}.foo: unknown setting`,
        `${PREFIX}.redis.host: must be a string`,
      ].sort(),
    );
  });

  it('never puts the offending value in a message', () => {
    const raw = {
      region: { token: SECRET },
      timeoutMs: SECRET,
      format: SECRET,
      [`extra`]: SECRET,
      redis: { host: [SECRET], port: SECRET },
    };
    const { problems } = validateSettings(DemoSettings, raw, PREFIX);
    expect(problems.length).toBeGreaterThanOrEqual(6);
    for (const problem of problems) expect(problem).not.toContain(SECRET);
    expect(validateSettings(DemoSettings, { region: 'r', redis: SECRET }, PREFIX).problems.join('\n')).not.toContain(
      SECRET,
    );
    expect(validateSettings(DemoSettings, SECRET, PREFIX).problems.join('\n')).not.toContain(SECRET);
  });

  it('refuses settings that are not an object', () => {
    expect(validateSettings(DemoSettings, 'x', PREFIX).problems).toEqual([`${PREFIX}: must be an object`]);
    expect(validateSettings(DemoSettings, [1], PREFIX).problems).toEqual([`${PREFIX}: must be an object`]);
    expect(validateSettings(DemoSettings, 3, PREFIX).problems).toEqual([`${PREFIX}: must be an object`]);
  });

  it('accepts nothing for a connector without a settings class and names extra keys', () => {
    expect(validateSettings(undefined, undefined, PREFIX).problems).toEqual([]);
    expect(validateSettings(undefined, {}, PREFIX).problems).toEqual([]);
    expect(validateSettings(undefined, { a: SECRET, b: 1 }, PREFIX).problems).toEqual([
      `${PREFIX}: this connector takes no settings (got a, b)`,
    ]);
  });
});

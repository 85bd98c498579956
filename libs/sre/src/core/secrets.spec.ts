import { Type } from 'class-transformer';
import { collectSecretValues, redactSecrets, SecretSetting } from './secrets';

class Credentials {
  @SecretSetting()
  secretAccessKey = '';

  accessKeyId = '';
}

class ServerSettings {
  @SecretSetting()
  password?: string;

  @SecretSetting()
  token?: string;

  host = 'localhost';

  @Type(() => Credentials)
  credentials?: Credentials;

  replicas: Credentials[] = [];
}

function credentials(secretAccessKey: string): Credentials {
  return Object.assign(new Credentials(), { secretAccessKey, accessKeyId: 'AKIA-PUBLIC-ID' });
}

describe('SecretSetting / collectSecretValues', () => {
  it('collects the values of marked fields only', () => {
    const settings = Object.assign(new ServerSettings(), { password: 'hunter22', host: 'db.internal' });
    expect(collectSecretValues(settings)).toEqual(['hunter22']);
  });

  it('searches nested settings objects and arrays of them', () => {
    const settings = Object.assign(new ServerSettings(), {
      token: 'tok-123456',
      credentials: credentials('nested-secret-1'),
      replicas: [credentials('replica-secret-1'), credentials('replica-secret-2')],
    });
    expect(collectSecretValues(settings).sort()).toEqual([
      'nested-secret-1',
      'replica-secret-1',
      'replica-secret-2',
      'tok-123456',
    ]);
  });

  it('ignores unset, non-string and too-short values', () => {
    const settings = Object.assign(new ServerSettings(), { password: 'abc', token: 12345 as unknown as string });
    expect(collectSecretValues(settings)).toEqual([]);
    expect(collectSecretValues(new ServerSettings())).toEqual([]);
  });

  it('finds nothing in plain objects and survives cycles', () => {
    expect(collectSecretValues({ password: 'plain-object-value' })).toEqual([]);
    expect(collectSecretValues(undefined)).toEqual([]);
    const settings = Object.assign(new ServerSettings(), { password: 'cyclic-secret' }) as ServerSettings & {
      self?: unknown;
    };
    settings.self = settings;
    expect(collectSecretValues(settings)).toEqual(['cyclic-secret']);
  });

  it('inherits marks from a parent settings class', () => {
    class Extended extends ServerSettings {
      @SecretSetting()
      apiKey = '';
    }
    const settings = Object.assign(new Extended(), { password: 'parent-secret', apiKey: 'child-secret' });
    expect(collectSecretValues(settings).sort()).toEqual(['child-secret', 'parent-secret']);
    // marking the child must not mark the parent
    expect(collectSecretValues(Object.assign(new ServerSettings(), { apiKey: 'child-secret' }))).toEqual([]);
  });
});

describe('redactSecrets', () => {
  it('replaces every occurrence of every secret', () => {
    expect(redactSecrets('user=admin pass=hunter22 again hunter22 tok=tok-123456', ['hunter22', 'tok-123456'])).toBe(
      'user=admin pass=*** again *** tok=***',
    );
  });

  it('leaves text without secrets alone', () => {
    expect(redactSecrets('nothing to hide', ['hunter22'])).toBe('nothing to hide');
    expect(redactSecrets('nothing to hide', [])).toBe('nothing to hide');
  });

  it('hides a secret whole when another secret is a part of it', () => {
    const text = 'redis://:abcd1234efgh@host';
    for (const secrets of [
      ['abcd', 'abcd1234efgh'],
      ['abcd1234efgh', 'abcd'],
    ]) {
      const out = redactSecrets(text, secrets);
      expect(out).toBe('redis://:***@host');
    }
  });
});

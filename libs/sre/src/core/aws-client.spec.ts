import 'reflect-metadata';
import { Test, TestingModule } from '@nestjs/testing';
import { AwsClientConfig, AwsClientConnection, AwsClientSettings, toAwsClientConfig } from './aws-client';
import { SreConfigError } from './errors';
import { collectSecretValues } from './secrets';
import { validateSettings } from './settings';

const KEY_ID = 'AKIAEXAMPLEKEYID0001';
const SECRET_KEY = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';
const SESSION = 'FwoGZXIvYXdzEXAMPLE-session-token';

/** Settings as the module hands them over: validated, class defaults filled in. */
function settings(raw: object): AwsClientSettings {
  const checked = validateSettings(AwsClientSettings, raw, 'Aws.settings');
  expect(checked.problems).toEqual([]);
  return checked.settings;
}

describe('toAwsClientConfig', () => {
  const noEnv: NodeJS.ProcessEnv = {};

  it("takes an empty endpoint (an unset '${VAR:-}') as none: AWS's own endpoint", () => {
    expect(toAwsClientConfig(settings({ region: 'eu-west-1', endpoint: '' }), noEnv)).toEqual<AwsClientConfig>({
      region: 'eu-west-1',
      maxAttempts: 3,
    });
    expect(validateSettings(AwsClientSettings, { endpoint: 'not a url' }, 'Aws.settings').problems).toEqual([
      'Aws.settings.endpoint: must be a URL address',
    ]);
  });

  it('honours explicit credentials, with the session token when there is one', () => {
    expect(
      toAwsClientConfig(settings({ region: 'eu-west-1', accessKeyId: KEY_ID, secretAccessKey: SECRET_KEY }), noEnv),
    ).toEqual<AwsClientConfig>({
      region: 'eu-west-1',
      maxAttempts: 3,
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET_KEY },
    });
    expect(
      toAwsClientConfig(
        settings({ region: 'eu-west-1', accessKeyId: KEY_ID, secretAccessKey: SECRET_KEY, sessionToken: SESSION }),
        noEnv,
      ).credentials,
    ).toEqual({ accessKeyId: KEY_ID, secretAccessKey: SECRET_KEY, sessionToken: SESSION });
  });

  it("accepts the seed's awsAccessKeyId / awsSecretAccessKey spelling", () => {
    const config = toAwsClientConfig(settings({ awsAccessKeyId: KEY_ID, awsSecretAccessKey: SECRET_KEY }), noEnv);
    expect(config.credentials).toEqual({ accessKeyId: KEY_ID, secretAccessKey: SECRET_KEY });
    expect(
      toAwsClientConfig(settings({ awsAccessKeyId: KEY_ID, secretAccessKey: SECRET_KEY }), noEnv).credentials,
    ).toEqual({ accessKeyId: KEY_ID, secretAccessKey: SECRET_KEY });
    // the plain spelling wins when both are given
    expect(
      toAwsClientConfig(
        settings({ accessKeyId: KEY_ID, awsAccessKeyId: 'AKIAOTHER', secretAccessKey: SECRET_KEY }),
        noEnv,
      ).credentials?.accessKeyId,
    ).toBe(KEY_ID);
  });

  it('leaves credentials to the default chain (env, profile, IAM role) without both keys', () => {
    expect(toAwsClientConfig(settings({}), noEnv)).toEqual({ region: 'us-east-1', maxAttempts: 3 });
    expect(toAwsClientConfig(settings({ accessKeyId: KEY_ID }), noEnv).credentials).toBeUndefined();
    expect(toAwsClientConfig(settings({ secretAccessKey: SECRET_KEY }), noEnv).credentials).toBeUndefined();
    expect('credentials' in toAwsClientConfig(settings({ sessionToken: SESSION }), noEnv)).toBe(false);
  });

  it('passes endpoint, forcePathStyle and maxAttempts through, and leaves them out when unset', () => {
    const config = toAwsClientConfig(
      settings({ endpoint: 'http://localhost:4566', forcePathStyle: true, maxAttempts: 5 }),
      noEnv,
    );
    expect(config).toEqual({
      region: 'us-east-1',
      endpoint: 'http://localhost:4566',
      forcePathStyle: true,
      maxAttempts: 5,
    });
    expect(toAwsClientConfig(settings({ forcePathStyle: false }), noEnv).forcePathStyle).toBe(false);
    const plain = toAwsClientConfig(settings({}), noEnv);
    expect('endpoint' in plain || 'forcePathStyle' in plain).toBe(false);
    expect(toAwsClientConfig({}, noEnv).maxAttempts).toBe(3);
  });

  it('takes the region from the settings, else AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1', () => {
    const env = { AWS_REGION: 'eu-central-1', AWS_DEFAULT_REGION: 'ap-south-1' };
    expect(toAwsClientConfig(settings({ region: 'us-west-2' }), env).region).toBe('us-west-2');
    expect(toAwsClientConfig(settings({}), env).region).toBe('eu-central-1');
    expect(toAwsClientConfig(settings({}), { AWS_DEFAULT_REGION: 'ap-south-1' }).region).toBe('ap-south-1');
    expect(toAwsClientConfig(settings({}), noEnv).region).toBe('us-east-1');
  });

  it('reads process.env by default', () => {
    const saved = process.env.AWS_REGION;
    process.env.AWS_REGION = 'sa-east-1';
    try {
      expect(toAwsClientConfig(settings({})).region).toBe('sa-east-1');
    } finally {
      if (saved === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved;
    }
  });
});

describe('AwsClientSettings', () => {
  it('marks every credential as a secret, so that messages can be scrubbed', () => {
    const all = settings({
      accessKeyId: KEY_ID,
      secretAccessKey: SECRET_KEY,
      sessionToken: SESSION,
      awsAccessKeyId: 'AKIAALIAS0002',
      awsSecretAccessKey: 'alias-secret-key-0002',
      region: 'eu-west-1',
      endpoint: 'https://s3.example.com',
    });
    expect(collectSecretValues(all).sort()).toEqual(
      [KEY_ID, SECRET_KEY, SESSION, 'AKIAALIAS0002', 'alias-secret-key-0002'].sort(),
    );
  });

  it('names every invalid field and never a value', () => {
    const { problems } = validateSettings(
      AwsClientSettings,
      {
        accessKeyId: 12345678,
        secretAccessKey: '',
        awsSecretAccessKey: 87654321,
        endpoint: `ftp://${KEY_ID}:${SECRET_KEY}@s3.local`,
        maxAttempts: 0,
        forcePathStyle: 'yes',
        password: SECRET_KEY,
      },
      'AwsClientConnection.settings',
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'AwsClientConnection.settings.accessKeyId: must be a string',
        'AwsClientConnection.settings.secretAccessKey: should not be empty',
        'AwsClientConnection.settings.awsSecretAccessKey: must be a string',
        'AwsClientConnection.settings.endpoint: must be a URL address',
        'AwsClientConnection.settings.maxAttempts: must not be less than 1',
        'AwsClientConnection.settings.forcePathStyle: must be a boolean value',
        'AwsClientConnection.settings.password: unknown setting',
      ]),
    );
    const text = problems.join('\n');
    for (const secret of [KEY_ID, SECRET_KEY, '12345678', '87654321']) expect(text).not.toContain(secret);
  });
});

describe('AwsClientConnection', () => {
  let moduleRef: TestingModule | undefined;

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  it('provides one AWS client configuration built from its settings', async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        AwsClientConnection.forRoot({
          settings: { region: 'eu-west-3', awsAccessKeyId: KEY_ID, awsSecretAccessKey: SECRET_KEY, maxAttempts: 2 },
        }),
      ],
    }).compile();
    expect(moduleRef.get(AwsClientConnection.token())).toEqual({
      region: 'eu-west-3',
      maxAttempts: 2,
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET_KEY },
    });
    expect(AwsClientConnection.dependency(true)).toMatchObject({
      what: 'a shared AwsClient connection',
      optional: true,
    });
  });

  it('fails boot with field-named problems that never show a credential', async () => {
    const error = await Test.createTestingModule({
      imports: [
        AwsClientConnection.forRoot({
          settings: { accessKeyId: KEY_ID, secretAccessKey: 42, endpoint: SECRET_KEY, region: '' } as never,
        }),
      ],
    })
      .compile()
      .then(
        () => new Error('the module booted'),
        (e: unknown) => e as Error,
      );
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as SreConfigError).problems).toEqual(
      expect.arrayContaining([
        'AwsClientConnection.settings.secretAccessKey: must be a string',
        'AwsClientConnection.settings.endpoint: must be a URL address',
        'AwsClientConnection.settings.region: should not be empty',
      ]),
    );
    expect(error.message).not.toContain(KEY_ID);
    expect(error.message).not.toContain(SECRET_KEY);
  });
});

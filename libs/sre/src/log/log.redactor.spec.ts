import { LogRedactor } from './log.redactor';

describe('LogRedactor', () => {
  const redactor = new LogRedactor({ maxFieldLength: 64, redactKeys: ['x-tenant-pin'], secrets: ['hunter2-literal'] });

  it('hides values under secret-looking keys at any depth, in objects and arrays', () => {
    const out = redactor.redact({
      apiKey: 'abc',
      API_KEY: 'abc',
      'x-api-key': 'abc',
      password: 'p',
      Authorization: 'Basic dXNlcjpwYXNz',
      headers: { Cookie: 'a=b', 'Set-Cookie': ['c=d'] },
      nested: [{ refresh_token: 'r', accessToken: 'a', clientSecret: 's', privateKey: { pem: 'x' } }],
      aws: { secretAccessKey: 'x', accessKeyId: 'y', sessionToken: 'z' },
      credentials: { user: 'u', pass: 'p' },
      XTenantPin: '1234',
      emptyToken: '',
      missingPassword: null,
    });
    expect(out).toEqual({
      apiKey: '***',
      API_KEY: '***',
      'x-api-key': '***',
      password: '***',
      Authorization: '***',
      headers: { Cookie: '***', 'Set-Cookie': '***' },
      nested: [{ refresh_token: '***', accessToken: '***', clientSecret: '***', privateKey: '***' }],
      aws: { secretAccessKey: '***', accessKeyId: '***', sessionToken: '***' },
      credentials: '***',
      XTenantPin: '***',
      emptyToken: '',
      missingPassword: null,
    });
  });

  it('keeps ordinary fields, including token counters and session ids', () => {
    const entry = {
      sessionID: 's-1',
      maxTokens: 100,
      usage: { inputTokens: 5, outputTokens: 7 },
      step: 2,
      tags: 'a,b',
      keyword: 'k',
    };
    expect(redactor.redact(entry)).toEqual(entry);
  });

  it('masks credential-looking values anywhere in strings', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    const out = redactor.redact({
      prompt: 'use sk-proj-AbCdEfGhIjKlMnOpQrStUv and sk-ant-api03-abcdefghijklmnop please',
      aws: 'id AKIAIOSFODNN7EXAMPLE ok',
      header: 'Bearer abc.def-123_456',
      token_in_text: `jwt=${jwt};`,
      list: ['AIzaSyA1234567890abcdefghijklmnopqrstuv', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
      url: 'https://user:pa55word@example.com/x',
      key: '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----',
      literal: 'the word hunter2-literal leaks',
      harmless: 'task-1234567890abcdefghij is a task id',
    });
    expect(out).toEqual({
      prompt: 'use *** and *** please',
      aws: 'id *** ok',
      header: 'Bearer ***',
      token_in_text: 'jwt=***;',
      list: ['***', '***'],
      url: 'https://***@example.com/x',
      key: '***',
      literal: 'the word *** leaks',
      harmless: 'task-1234567890abcdefghij is a task id',
    });
  });

  it('truncates long strings with a marker, masking before the cut', () => {
    const long = 'a'.repeat(100);
    expect(redactor.redact({ output: long })).toEqual({ output: `${'a'.repeat(64)}…[truncated, 100 chars]` });
    const straddling = `${'b'.repeat(49)} sk-abcdefghijklmnopqrstuvwxyz ${'c'.repeat(50)}`;
    const out = redactor.redact(straddling) as string;
    expect(out).toBe(`${'b'.repeat(49)} *** ${'c'.repeat(10)}…[truncated, ${straddling.length} chars]`);
    expect(out).not.toContain('sk-');
    const huge = `${'d'.repeat(10_000)}AKIAIOSFODNN7EXAMPLE`;
    expect(redactor.redact(huge)).toBe(`${'d'.repeat(64)}…[truncated, 10020 chars]`);
  });

  it('does not crash on circular structures, depth, binary data and odd types', () => {
    const entry: Record<string, unknown> = { name: 'x' };
    entry.self = entry;
    entry.list = [entry, { back: entry }];
    const shared = { v: 1 };
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 20; i++) deep = { deep };
    const out = redactor.redact({
      entry,
      twice: [shared, shared],
      deep,
      buffer: Buffer.from('secret bytes'),
      bytes: new Uint8Array(3),
      when: new Date(0),
      big: 10n,
      fn: () => 1,
      nothing: undefined,
      sparse: [undefined, () => 1],
      map: new Map([
        ['password', 'x'],
        ['ok', 'y'],
      ]),
      set: new Set(['a']),
      error: Object.assign(new Error('failed with sk-abcdefghijklmnopqrstu'), { code: 'E1' }),
      throwing: Object.defineProperty({}, 'bad', {
        enumerable: true,
        get: () => {
          throw new Error('boom');
        },
      }),
    }) as Record<string, unknown>;
    expect(out.entry).toEqual({ name: 'x', self: '[Circular]', list: ['[Circular]', { back: '[Circular]' }] });
    expect(out.twice).toEqual([{ v: 1 }, { v: 1 }]);
    expect(JSON.stringify(out.deep)).toContain('[Too deep]');
    expect(out.buffer).toBe('[Buffer 12 bytes]');
    expect(out.bytes).toBe('[Uint8Array 3 bytes]');
    expect(out.when).toBe('1970-01-01T00:00:00.000Z');
    expect(out.big).toBe('10');
    expect('fn' in out).toBe(false);
    expect('nothing' in out).toBe(false);
    expect(out.sparse).toEqual([null, null]);
    expect(out.map).toEqual({ password: '***', ok: 'y' });
    expect(out.set).toEqual(['a']);
    expect(out.error).toEqual({ name: 'Error', message: 'failed with ***', code: 'E1' });
    expect(out.throwing).toEqual({ bad: '[Unreadable]' });
    expect(() => JSON.stringify(out)).not.toThrow();
  });

  it('caps the number of items and keys', () => {
    const list = Array.from({ length: 250 }, (_, i) => i);
    const object = Object.fromEntries(list.map((i) => [`k${i}`, i]));
    const out = redactor.redact({ list, object }) as { list: unknown[]; object: Record<string, unknown> };
    expect(out.list).toHaveLength(201);
    expect(out.list[200]).toBe('…[50 more items]');
    expect(Object.keys(out.object)).toHaveLength(201);
    expect(out.object['…']).toBe('[50 more keys]');
  });
});

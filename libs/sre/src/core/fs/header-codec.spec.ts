import { SreInvalidInputError } from '../errors';
import { ACL } from '../../security/acl';
import { decodeHeader, decodeHeaderFields, encodeHeader, encodeHeaderFields } from './header-codec';

describe('header codec (the original metadata layout)', () => {
  const acl = new ACL().addAccess('user', 'alice', 'owner').addAccess('team', 'acme', 'read');

  it('writes a flat object of strings: compact acl, expiresAt in ms, values JSON-encoded where needed', () => {
    const fields = encodeHeaderFields({
      acl,
      metadata: {
        ContentType: 'text/plain',
        n: 42,
        flag: false,
        nested: { a: [1] },
        numeric: '42',
        quoted: '"q"',
        none: null,
      },
      expiresAt: 1767225600000,
    });
    expect(fields).toEqual({
      ContentType: 'text/plain',
      n: '42',
      flag: 'false',
      nested: '{"a":[1]}',
      numeric: '"42"',
      quoted: '"\\"q\\""',
      none: 'null',
      acl: acl.serialize(),
      expiresAt: '1767225600000',
    });
    expect(encodeHeader({ acl, metadata: {} })).toBe(JSON.stringify({ acl: acl.serialize() }));
  });

  it('round-trips every JSON type exactly, and never stores reserved or undefined keys from metadata', () => {
    const metadata = {
      s: 'plain',
      numeric: '42',
      quoted: '"q"',
      n: 1.5,
      list: [1, 'two', { three: true }],
      none: null,
    };
    const text = encodeHeader({ acl, metadata: { ...metadata, acl: 'h:xxh3', expiresAt: 1, gone: undefined } });
    const decoded = decodeHeader(text);
    expect(decoded.metadata).toEqual(metadata);
    expect(decoded.acl.serialize()).toBe(acl.serialize());
    expect(decoded.expiresAt).toBeUndefined();
  });

  it('reads what the original wrote: raw strings that are not JSON, an IACL object, a numeric expiry', () => {
    const decoded = decodeHeaderFields({
      ContentType: 'text/plain',
      custom: '{"x":1}',
      acl: acl.toJSON(),
      expiresAt: 5,
      __proto__: 'ignored',
    });
    expect(decoded).toMatchObject({ metadata: { ContentType: 'text/plain', custom: { x: 1 } }, expiresAt: 5 });
    expect(decoded.acl.serialize()).toBe(acl.serialize());
    expect(Object.getPrototypeOf(decoded.metadata)).toBe(Object.prototype);
  });

  it('decodes damaged metadata to a header nobody may access, and says why', () => {
    const problems: string[] = [];
    for (const text of ['{not json', '"a string"', '[1,2]', 'null']) {
      const decoded = decodeHeader(text, (why) => problems.push(why));
      expect(decoded.acl.isEmpty()).toBe(true);
      expect(decoded.metadata).toEqual({});
    }
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/not a JSON object: nobody can access it/);
    const badAcl = decodeHeader(JSON.stringify({ acl: 'h:md5|u:x/o', a: 'b' }), (why) => problems.push(why));
    expect(badAcl.acl.isEmpty()).toBe(true);
    expect(badAcl.metadata).toEqual({ a: 'b' });
    expect(problems[4]).toMatch(/ACL cannot be parsed/);
    expect(decodeHeader(JSON.stringify({ a: 'b' })).acl.isEmpty()).toBe(true);
    expect(decodeHeader(JSON.stringify({ acl: acl.serialize(), expiresAt: 'soon' })).expiresAt).toBeUndefined();
  });

  it('refuses a value JSON cannot hold', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => encodeHeader({ acl, metadata: { circular } })).toThrow(SreInvalidInputError);
    expect(() => encodeHeader({ acl, metadata: { fn: () => 1 } })).toThrow("metadata 'fn' is not JSON-serialisable");
  });
});

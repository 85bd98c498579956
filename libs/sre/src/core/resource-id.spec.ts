import { SreInvalidInputError } from './errors';
import { assertKey, assertResourceId } from './resource-id';

describe('assertResourceId', () => {
  it.each([
    'a',
    'f.txt',
    'teams/t1/f.txt',
    'teams/default.agent/a1/f.txt',
    'a/b/c/d.e.f',
    '.hidden',
    'a/..b/c..',
    'ünïcode/文件',
    'x'.repeat(255),
    'é'.repeat(127),
    [1, 2, 3, 4]
      .map((n) => String(n).repeat(255))
      .join('/')
      .slice(0, 1024),
  ])('accepts %j', (id) => {
    expect(() => assertResourceId(id)).not.toThrow();
  });

  it.each([
    ['', /non-empty/],
    ['/abs', /relative/],
    ['/', /relative/],
    ['../x', /'\.\.'/],
    ['a/../b', /'\.\.'/],
    ['a/..', /'\.\.'/],
    ['a//b', /empty path segment/],
    ['a/./b', /'\.'/],
    ['./a', /'\.'/],
    ['a/', /empty path segment/],
    ['a\u0000b', /control/],
    ['a\nb', /control/],
    ['a\u001fb', /control/],
    ['a\u007fb', /control/],
    ['a\\b', /backslash/],
    ['..\\x', /backslash/],
    ['x'.repeat(1025), /1024 bytes/],
    ['é'.repeat(513), /1024 bytes/],
    ['x'.repeat(256), /a path segment is longer than 255 bytes/],
    ['a/' + 'x'.repeat(256) + '/b', /a path segment is longer than 255 bytes/],
    ['é'.repeat(128), /a path segment is longer than 255 bytes/],
  ])('rejects %j', (id, why) => {
    expect(() => assertResourceId(id)).toThrow(SreInvalidInputError);
    expect(() => assertResourceId(id)).toThrow(why);
  });

  it('rejects non-strings', () => {
    for (const id of [undefined, null, 42, {}, ['a']]) expect(() => assertResourceId(id)).toThrow(SreInvalidInputError);
  });

  it('names what was checked and where, without echoing the id', () => {
    const error = (() => {
      try {
        assertResourceId('../secret-looking-id', 'file name', { subsystem: 'Storage', connector: 'LocalStorage' });
      } catch (e) {
        return e as SreInvalidInputError;
      }
    })();
    expect(error).toBeInstanceOf(SreInvalidInputError);
    expect(error?.message).toMatch(/^invalid file name: /);
    expect(error?.message).not.toContain('secret-looking-id');
    expect(error).toMatchObject({ subsystem: 'Storage', connector: 'LocalStorage' });
  });
});

describe('assertKey', () => {
  it.each(['k', 'a:b', 'a/b', '../x', 'with space', 'a\\b', 'x'.repeat(1024)])('accepts %j', (key) => {
    expect(() => assertKey(key)).not.toThrow();
  });

  it.each([
    ['', /non-empty/],
    ['a\u0000b', /control/],
    ['a\rb', /control/],
    ['x'.repeat(1025), /1024 bytes/],
  ])('rejects %j', (key, why) => {
    expect(() => assertKey(key)).toThrow(SreInvalidInputError);
    expect(() => assertKey(key)).toThrow(why);
  });

  it('rejects non-strings and honours a custom size limit', () => {
    expect(() => assertKey(7)).toThrow(SreInvalidInputError);
    expect(() => assertKey('abcd', 'namespace', undefined, 3)).toThrow(/invalid namespace: longer than 3 bytes/);
    expect(() => assertKey('abc', 'namespace', undefined, 3)).not.toThrow();
  });
});

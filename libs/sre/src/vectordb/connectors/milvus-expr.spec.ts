import {
  all,
  differs,
  equals,
  literal,
  metadataFilter,
  MilvusExpressionError,
  oneOf,
  stringLiteral,
} from './milvus-expr';

describe('Milvus expressions', () => {
  it('writes every value as one literal: quotes, backslashes and control characters escaped', () => {
    expect(stringLiteral('plain')).toBe('"plain"');
    expect(stringLiteral('a"b')).toBe('"a\\"b"');
    expect(stringLiteral('back\\slash')).toBe('"back\\\\slash"');
    expect(stringLiteral('x\\" or true or "')).toBe('"x\\\\\\" or true or \\""');
    expect(stringLiteral('line\nbreak\r\ttab\u0000\u007f\u2028')).toBe(
      '"line\\u000abreak\\u000d\\u0009tab\\u0000\\u007f\\u2028"',
    );
    expect(stringLiteral('ünï 名前 🔑')).toBe('"ünï 名前 🔑"');
    expect(() => stringLiteral('lone \ud800 surrogate')).toThrow(MilvusExpressionError);
  });

  it('writes numbers in JSON form and booleans as keywords, and refuses anything else', () => {
    expect([literal(1), literal(-2.5), literal(1e21), literal(1e-7), literal(true), literal(false)]).toEqual([
      '1',
      '-2.5',
      '1e+21',
      '1e-7',
      'true',
      'false',
    ]);
    for (const bad of [Number.NaN, Infinity, null, undefined, {}, [], 1n])
      expect(() => literal(bad as never)).toThrow(MilvusExpressionError);
  });

  it('checks field names, and parenthesises each part of a conjunction', () => {
    expect(equals('datasourceId', 'ds" || true')).toBe('datasourceId == "ds\\" || true"');
    expect(differs('generation', 'g')).toBe('generation != "g"');
    expect(oneOf('id', ['a', 1])).toBe('id in ["a", 1]');
    expect(all(equals('kind', 'chunk'), differs('generation', 'g'))).toBe('(kind == "chunk") and (generation != "g")');
    expect(all(equals('kind', 'chunk'))).toBe('kind == "chunk"');
    for (const bad of ['', '1x', 'a b', 'x"', 'a[0]', 'a or b'])
      expect(() => equals(bad, 'v')).toThrow(MilvusExpressionError);
    expect(() => oneOf('id', [])).toThrow(MilvusExpressionError);
    expect(() => all()).toThrow(MilvusExpressionError);
  });

  it('turns a metadata filter into JSON-field comparisons, keys as string literals', () => {
    expect(metadataFilter('user_metadata', {})).toBeUndefined();
    expect(metadataFilter('user_metadata', { lang: 'en' })).toBe('user_metadata["lang"] == "en"');
    expect(metadataFilter('user_metadata', { lang: 'en', n: { $in: [1, '1', true] } })).toBe(
      '(user_metadata["lang"] == "en") and (user_metadata["n"] in [1, "1", true])',
    );
    expect(() => metadataFilter('user_metadata', { 'a"]': 'x' })).toThrow(MilvusExpressionError);
    expect(() => metadataFilter('user_metadata', { a: { $in: [] } })).toThrow(MilvusExpressionError);
  });
});

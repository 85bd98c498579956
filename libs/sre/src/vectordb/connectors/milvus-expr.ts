import { FILTER_FIELD } from '../metadata-filter';
import type { VectorFilterValue, VectorMetadataFilter } from '../vectordb.backend';

/**
 * Milvus boolean expressions built from values, never from raw input (W35): every value becomes a
 * literal through `literal`, every field name is checked against a pattern that cannot leave the
 * identifier (or the JSON key string) it stands in. Milvus has no parameterised filters on the
 * versions this connector supports, so escaping is the defence, and it is total: a value can only
 * ever be one string, number or boolean literal.
 */
export type MilvusExpression = string & { readonly __milvusExpression: true };

/** Schema field names: Milvus' own rule, and nothing that could close a bracket or a quote. */
const SCHEMA_FIELD = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Thrown for a value no literal can carry; its message never quotes the value. */
export class MilvusExpressionError extends Error {}

/**
 * A Milvus string literal: double-quoted, with `\` and `"` escaped and every control character
 * written as `\uXXXX`, so that neither a quote nor a line break in the value ends the literal.
 * Text that is not well-formed UTF-16 (a lone surrogate) has no UTF-8 form and is refused.
 */
export function stringLiteral(value: string): string {
  if (LONE_SURROGATE.test(value)) throw new MilvusExpressionError('a filter value holds a lone surrogate');
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029)
      out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

/** A literal for a filter value: a string, a finite number or a boolean, nothing else. */
export function literal(value: VectorFilterValue): string {
  switch (typeof value) {
    case 'string':
      return stringLiteral(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new MilvusExpressionError('a filter number must be finite');
      // JSON's form: no `Infinity`, no hex; exponents as Milvus' grammar reads them
      return JSON.stringify(value);
    default:
      throw new MilvusExpressionError(`a filter value cannot be ${typeof value}`);
  }
}

function field(name: string): string {
  if (!SCHEMA_FIELD.test(name)) throw new MilvusExpressionError('not a Milvus field name');
  return name;
}

/** `name == <literal>` on a schema field. */
export function equals(name: string, value: VectorFilterValue): MilvusExpression {
  return `${field(name)} == ${literal(value)}` as MilvusExpression;
}

/** `name != <literal>` on a schema field. */
export function differs(name: string, value: VectorFilterValue): MilvusExpression {
  return `${field(name)} != ${literal(value)}` as MilvusExpression;
}

/** `name in [<literals>]` on a schema field. */
export function oneOf(name: string, values: readonly VectorFilterValue[]): MilvusExpression {
  if (values.length === 0) throw new MilvusExpressionError('`in` needs at least one value');
  return `${field(name)} in [${values.map(literal).join(', ')}]` as MilvusExpression;
}

/** Every part must hold; each part is parenthesised, so precedence never depends on its content. */
export function all(...parts: MilvusExpression[]): MilvusExpression {
  if (parts.length === 0) throw new MilvusExpressionError('an empty conjunction');
  return (parts.length === 1 ? parts[0] : parts.map((part) => `(${part})`).join(' and ')) as MilvusExpression;
}

/**
 * The metadata filter (see `VectorMetadataFilter`) over a JSON field: `json["key"] == v` and
 * `json["key"] in [...]`, one part per key. Keys are the service's safe names, checked again here
 * and written as string literals all the same. `undefined` for an empty filter.
 */
export function metadataFilter(jsonField: string, filter: VectorMetadataFilter): MilvusExpression | undefined {
  const parts: MilvusExpression[] = [];
  for (const key of Object.keys(filter)) {
    if (!FILTER_FIELD.test(key)) throw new MilvusExpressionError('not a metadata filter field name');
    const target = `${field(jsonField)}[${stringLiteral(key)}]`;
    const condition = filter[key];
    if (typeof condition === 'object') {
      if (condition.$in.length === 0) throw new MilvusExpressionError('`$in` needs at least one value');
      parts.push(`${target} in [${condition.$in.map(literal).join(', ')}]` as MilvusExpression);
    } else parts.push(`${target} == ${literal(condition)}` as MilvusExpression);
  }
  return parts.length ? all(...parts) : undefined;
}

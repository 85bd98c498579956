/**
 * The subset of JSON Schema that structured-output schemas use (type, properties, required,
 * additionalProperties, items, enum, const, anyOf, min/max lengths and values): enough to check a
 * model's answer without a validator dependency. Unknown keywords are ignored, not failed.
 */
export function schemaProblems(schema: unknown, value: unknown, at = '$'): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const s = schema as Record<string, unknown>;
  const problems: string[] = [];
  if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) {
    const options = (s.anyOf ?? s.oneOf) as unknown[];
    if (!options.some((option) => schemaProblems(option, value, at).length === 0))
      problems.push(`${at}: matches none of the allowed schemas`);
  }
  if (s.const !== undefined && JSON.stringify(s.const) !== JSON.stringify(value))
    problems.push(`${at}: must be ${JSON.stringify(s.const)}`);
  if (Array.isArray(s.enum) && !s.enum.some((item) => JSON.stringify(item) === JSON.stringify(value)))
    problems.push(`${at}: must be one of ${JSON.stringify(s.enum)}`);
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
  if (types.length && !types.some((type) => isType(type, value))) {
    problems.push(`${at}: must be ${types.join(' or ')}`);
    return problems;
  }
  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' && value.length < s.minLength) problems.push(`${at}: too short`);
    if (typeof s.maxLength === 'number' && value.length > s.maxLength) problems.push(`${at}: too long`);
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) problems.push(`${at}: must be >= ${s.minimum}`);
    if (typeof s.maximum === 'number' && value > s.maximum) problems.push(`${at}: must be <= ${s.maximum}`);
  }
  if (Array.isArray(value)) {
    if (s.items !== undefined)
      value.forEach((item, i) => problems.push(...schemaProblems(s.items, item, `${at}[${i}]`)));
    if (typeof s.minItems === 'number' && value.length < s.minItems) problems.push(`${at}: too few items`);
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) problems.push(`${at}: too many items`);
  } else if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    const properties = (typeof s.properties === 'object' && s.properties !== null ? s.properties : {}) as Record<
      string,
      unknown
    >;
    for (const key of Array.isArray(s.required) ? (s.required as string[]) : [])
      if (!Object.hasOwn(object, key)) problems.push(`${at}.${key}: is required`);
    for (const [key, item] of Object.entries(object)) {
      if (Object.hasOwn(properties, key)) problems.push(...schemaProblems(properties[key], item, `${at}.${key}`));
      else if (s.additionalProperties === false) problems.push(`${at}.${key}: is not allowed`);
      else if (typeof s.additionalProperties === 'object')
        problems.push(...schemaProblems(s.additionalProperties, item, `${at}.${key}`));
    }
  }
  return problems;
}

function isType(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'null':
      return value === null;
    default:
      return typeof value === type;
  }
}

/** The JSON inside a model's answer: the whole text, else a fenced block, else the outermost braces. */
export function extractJson(text: string): unknown {
  const attempts = [text.trim()];
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  if (fenced) attempts.push(fenced[1].trim());
  const first = text.indexOf('{');
  const last = text.lastIndexOf('}');
  if (first >= 0 && last > first) attempts.push(text.slice(first, last + 1));
  for (const attempt of attempts) {
    try {
      return JSON.parse(attempt);
    } catch {
      // the next form, if any
    }
  }
  throw new SyntaxError('the answer is not JSON');
}

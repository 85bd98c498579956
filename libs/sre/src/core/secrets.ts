import 'reflect-metadata';

const SECRET_FIELDS = Symbol('sre:secret-settings');
const MIN_SECRET_LENGTH = 4;

/**
 * Marks a settings field as secret: its value is scrubbed from every message the connector logs
 * or throws (SDK errors like to echo URLs and credentials back).
 */
export function SecretSetting(): PropertyDecorator {
  return (target, key) => {
    const fields: (string | symbol)[] = Reflect.getMetadata(SECRET_FIELDS, target) ?? [];
    Reflect.defineMetadata(SECRET_FIELDS, [...fields, key], target);
  };
}

/** The secret values present in a settings object (nested settings objects are searched too). */
export function collectSecretValues(settings: unknown, seen = new Set<unknown>()): string[] {
  if (!settings || typeof settings !== 'object' || seen.has(settings)) return [];
  seen.add(settings);
  const fields: (string | symbol)[] = Reflect.getMetadata(SECRET_FIELDS, settings) ?? [];
  const values: string[] = [];
  for (const field of fields) {
    const value = (settings as Record<string | symbol, unknown>)[field];
    if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) values.push(value);
  }
  for (const value of Object.values(settings)) {
    if (value && typeof value === 'object') values.push(...collectSecretValues(value, seen));
  }
  return values;
}

/** Replaces every occurrence of each secret with `***`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  // longest first: a secret that contains a shorter one must not be left half-visible
  const ordered = secrets.length > 1 ? [...secrets].sort((a, b) => b.length - a.length) : secrets;
  for (const secret of ordered) if (out.includes(secret)) out = out.split(secret).join('***');
  return out;
}

import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';

/**
 * Validates raw settings against a connector's settings class. Returns the typed instance (with the
 * class' defaults filled in) and every problem as `<prefix>.<field>: <message>`. Messages come from
 * class-validator's constraints and never contain the offending value.
 */
export function validateSettings<T extends object>(
  settingsClass: (new () => T) | undefined,
  raw: unknown,
  prefix: string,
): { settings: T; problems: string[] } {
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    return { settings: {} as T, problems: [`${prefix}: must be an object`] };
  }
  if (!settingsClass) {
    const keys = Object.keys(raw ?? {});
    return {
      settings: {} as T,
      problems: keys.length ? [`${prefix}: this connector takes no settings (got ${keys.join(', ')})`] : [],
    };
  }
  const settings = plainToInstance(settingsClass, raw ?? {}, { exposeDefaultValues: true });
  const errors = validateSync(settings, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: false,
    validationError: { target: false, value: false },
  });
  return { settings, problems: errors.flatMap((error) => flatten(error, prefix)) };
}

function flatten(error: ValidationError, prefix: string): string[] {
  const at = `${prefix}.${error.property}`;
  const own = Object.entries(error.constraints ?? {}).map(([kind, message]) =>
    kind === 'whitelistValidation' ? `${at}: unknown setting` : `${at}: ${stripProperty(message, error.property)}`,
  );
  return [...own, ...(error.children ?? []).flatMap((child) => flatten(child, at))];
}

function stripProperty(message: string, property: string): string {
  if (message.startsWith(`${property} `)) return message.slice(property.length + 1);
  // nested array items are reported as "each value in x ..." — keep the message readable
  return message;
}

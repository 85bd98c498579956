/**
 * Typed errors. Every error names the subsystem and connector it came from so that a log line is
 * actionable on its own; none of them ever carries a setting value or a secret.
 */
export interface SreErrorSource {
  subsystem?: string;
  connector?: string;
}

export class SreError extends Error {
  readonly subsystem?: string;
  readonly connector?: string;

  constructor(message: string, source: SreErrorSource = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.subsystem = source.subsystem;
    this.connector = source.connector;
  }
}

/** Boot-time configuration problems, all of them at once. */
export class SreConfigError extends SreError {
  constructor(readonly problems: readonly string[]) {
    super(
      problems.length === 1
        ? `Invalid SRE configuration: ${problems[0]}`
        : `Invalid SRE configuration (${problems.length} problems):\n  - ${problems.join('\n  - ')}`,
    );
  }
}

/** The resource (file, cache key, secret, ...) does not exist. */
export class SreNotFoundError extends SreError {}

/**
 * The candidate may not do this. `name` stays `ACLAccessDeniedError` like upstream's so that code
 * written against the original keeps matching on it.
 */
export class SreAccessDeniedError extends SreError {
  constructor(source: SreErrorSource = {}, detail = 'Access Denied') {
    super(detail, source);
    this.name = 'ACLAccessDeniedError';
  }
}

/** A key, path, id or argument is malformed (path traversal, empty key, bad candidate id...). */
export class SreInvalidInputError extends SreError {}

/** The connector cannot take work: not available in this version, shutting down, or closed. */
export class SreUnavailableError extends SreError {}

/** The backend (SDK, file system, network) failed; the original error is kept as `cause`. */
export class SreBackendError extends SreError {}

/**
 * The provider refused the call for its rate limit (HTTP 429): `retryAfterMs` is the delay it
 * advertised (`retry-after` / `retry-after-ms`), when it gave one.
 */
export class SreRateLimitError extends SreError {
  constructor(
    message: string,
    source: SreErrorSource = {},
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, source, options);
  }
}

/**
 * No credentials for the call, or the provider refused them (HTTP 401/403). `vaultKey` names where
 * the key is looked up; the key's value is never part of the error.
 */
export class SreAuthError extends SreError {
  constructor(
    message: string,
    source: SreErrorSource = {},
    readonly vaultKey?: string,
    options?: { cause?: unknown },
  ) {
    super(message, source, options);
  }
}

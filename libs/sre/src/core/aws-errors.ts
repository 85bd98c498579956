import { labelOf, redactWith, sourceOf, type ConnectorContext } from './backend';
import { SreBackendError, SreError, SreInvalidInputError, SreNotFoundError, SreUnavailableError } from './errors';

/** What went wrong with an AWS call, in the terms a caller acts on (W56: never all "not found"). */
export type AwsFailureKind = 'not-found' | 'denied' | 'throttled' | 'unreachable' | 'invalid' | 'conflict' | 'failed';

const NOT_FOUND = new Set(['ResourceNotFoundException', 'UserNotFoundException', 'NoSuchKey', 'NotFound']);
const DENIED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'InvalidClientTokenId',
  'ExpiredTokenException',
  'NotAuthorizedException',
  'CredentialsProviderError',
]);
const THROTTLED = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'Throttling',
  'RequestLimitExceeded',
  'LimitExceededException',
  'SlowDown',
  'ServiceUnavailable',
  'ServiceUnavailableException',
]);
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'TimeoutError',
  'AbortError',
  'RequestTimeout',
]);
const INVALID = new Set(['InvalidParameterException', 'InvalidParameterValueException', 'ValidationException']);
const CONFLICT = new Set(['ResourceExistsException', 'ResourceConflictException', 'PreconditionFailedException']);

/** The HTTP status of an SDK error, when it got an answer. */
export function awsStatusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** The error's AWS code (`name`), or the Node system code of a failed connection. */
export function awsCodeOf(error: unknown): string {
  const e = error as { name?: string; code?: string; cause?: { code?: string } };
  if (e?.code && UNREACHABLE.has(e.code)) return e.code;
  if (e?.cause?.code && UNREACHABLE.has(e.cause.code)) return e.cause.code;
  return e?.name ?? 'Error';
}

export function classifyAwsError(error: unknown): AwsFailureKind {
  const code = awsCodeOf(error);
  const status = awsStatusOf(error);
  if (NOT_FOUND.has(code)) return 'not-found';
  if (DENIED.has(code) || status === 401 || status === 403) return 'denied';
  if (THROTTLED.has(code) || status === 429 || status === 503) return 'throttled';
  if (UNREACHABLE.has(code) || (status === undefined && /ECONN|socket|timed? ?out|getaddrinfo/i.test(String(error))))
    return 'unreachable';
  if (INVALID.has(code)) return 'invalid';
  if (CONFLICT.has(code) || status === 409 || status === 412) return 'conflict';
  return 'failed';
}

const HINT: Record<AwsFailureKind, string> = {
  'not-found': 'not found',
  denied: 'AWS refused the credentials or the permission (check the access key, the IAM policy and the region)',
  throttled: 'AWS is throttling requests (retried within maxAttempts; try again later)',
  unreachable: 'the endpoint is unreachable or did not answer in time',
  invalid: 'AWS refused the request as invalid',
  conflict: 'a concurrent change conflicted',
  failed: 'the AWS call failed',
};

/**
 * An SDK error as a typed `SreError` naming subsystem, connector, operation and subject: missing
 * is `SreNotFoundError`, throttling and an unreachable endpoint `SreUnavailableError`, bad input
 * `SreInvalidInputError`, everything else (credentials, permissions) `SreBackendError`. Secret
 * setting values are scrubbed; the SDK error stays as `cause`.
 */
export function wrapAwsError(
  context: ConnectorContext<any>,
  operation: string,
  subject: string,
  error: unknown,
): SreError {
  if (error instanceof SreError) return error;
  const kind = classifyAwsError(error);
  const code = awsCodeOf(error);
  const status = awsStatusOf(error);
  const detail = redactWith(context, String((error as Error)?.message ?? error)).slice(0, 300);
  const text =
    `${labelOf(context)}: ${operation} of '${subject}' failed: ${HINT[kind]} ` +
    `[${code}${status ? `, HTTP ${status}` : ''}]${detail && detail !== code ? `: ${detail}` : ''}`;
  const options = { cause: error };
  switch (kind) {
    case 'not-found':
      return new SreNotFoundError(text, sourceOf(context), options);
    case 'throttled':
    case 'unreachable':
      return new SreUnavailableError(text, sourceOf(context), options);
    case 'invalid':
      return new SreInvalidInputError(text, sourceOf(context), options);
    default:
      return new SreBackendError(text, sourceOf(context), options);
  }
}

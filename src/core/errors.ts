/**
 * Typed errors. Every error a user can cause carries a stable `code` (machine-readable, documented
 * in the API description) and the HTTP status it maps to, so the API layer never has to guess and
 * bad input can never surface as a 500.
 */
export type ErrorCode =
  | 'bad_request'
  | 'malformed_body'
  | 'empty_body'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'gone'
  | 'idempotency_key_reused'
  | 'payload_too_large'
  | 'request_timeout'
  | 'uri_too_long'
  | 'headers_too_large'
  | 'unsupported_media_type'
  | 'unsupported_encoding'
  | 'rate_limited'
  | 'overloaded'
  | 'unavailable'
  /** A write that may or may not have been stored (a publish left unacknowledged): retry with the Idempotency-Key given. */
  | 'outcome_unknown'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  malformed_body: 400,
  empty_body: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  /** Once valid, no longer (expired or used one-click links). */
  gone: 410,
  idempotency_key_reused: 422,
  payload_too_large: 413,
  /** The client took longer than the request timeout to send its request. */
  request_timeout: 408,
  uri_too_long: 414,
  headers_too_large: 431,
  unsupported_media_type: 415,
  unsupported_encoding: 415,
  rate_limited: 429,
  overloaded: 503,
  unavailable: 503,
  outcome_unknown: 503,
  internal: 500,
};

/** Every code an error body can carry (the OpenAPI description lists them as an enum). */
export const ERROR_CODES = Object.keys(STATUS) as ErrorCode[];

export interface ErrorDetail {
  /** Dotted path of the offending field, e.g. `spec.objectives[0].target`. */
  path?: string;
  message: string;
  [extra: string]: unknown;
}

export class KeelError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetail[] | undefined;
  /** Seconds a client should wait before retrying (429 and 503). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: { details?: ErrorDetail[]; retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeelError';
    this.code = code;
    this.status = STATUS[code];
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details?: ErrorDetail[] } } {
    const body: { code: ErrorCode; message: string; details?: ErrorDetail[] } = {
      code: this.code,
      message: this.message,
    };
    if (this.details && this.details.length > 0) body.details = this.details;
    return { error: body };
  }
}

export const isKeelError = (e: unknown): e is KeelError => e instanceof KeelError;

/**
 * A 400 about one field: the message names the field's path first, and `details` carries the path
 * (and, when given, a shorter message for it) so a client can point at the field.
 */
export function fieldError(path: string, message: string, detail: string = message): KeelError {
  return new KeelError('validation_failed', `${path}: ${message}`, { details: [{ path, message: detail }] });
}

export function notFound(what: string): KeelError {
  return new KeelError('not_found', `${what} not found`);
}

/**
 * Maps every error to the one JSON shape clients see: `{"error": {"code", "message"}}`. Known
 * fastify errors (body too large, bad media type, bad JSON) become precise 4xx answers; anything
 * unexpected is a logged 500 that reveals nothing internal.
 */
import type { FastifyError } from 'fastify';
import { z } from 'zod';
import { formatZodIssues } from '../core/config.js';
import { KeelError, isKeelError } from '../core/errors.js';
import { isConnectionError } from '../store/postgres.js';

export function toKeelError(err: unknown, context: { bodyLimit?: number } = {}): KeelError {
  if (isKeelError(err)) return err;
  if (err instanceof z.ZodError) {
    const details = formatZodIssues(err);
    return new KeelError('validation_failed', details.map((d) => `${d.path || '(body)'}: ${d.message}`).join('; '), { details });
  }
  const e = err as FastifyError & { status?: number };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new KeelError('payload_too_large', context.bodyLimit ? `request body is larger than ${context.bodyLimit} bytes` : 'request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new KeelError('unsupported_media_type', 'Content-Type is not supported by this endpoint; send application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new KeelError('empty_body', 'request body is empty');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new KeelError('bad_request', 'Content-Length does not match the body');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new KeelError('malformed_body', `body is not valid JSON: ${e.message}`);
    default:
      break;
  }
  if (err instanceof SyntaxError && (e.statusCode === 400 || e.status === 400)) {
    return new KeelError('malformed_body', `body is not valid JSON: ${err.message}`);
  }
  const status = e.statusCode ?? e.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = status === 404 ? 'not_found' : status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'bad_request';
    return new KeelError(code, e.message);
  }
  // The state store is down or restarting: a dependency outage, not a bug; the client should retry.
  if (isConnectionError(err)) {
    return new KeelError('unavailable', 'the state store is unreachable right now; retry shortly', { retryAfterSeconds: 2 });
  }
  if (e.code === 'ECONNRESET' || e.code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new KeelError('bad_request', 'the request ended before its body was complete');
  }
  return new KeelError('internal', 'internal error; see the server log for the request id');
}

/**
 * The JSON body parser of the API's JSON routes. Fastify's own parser answers every syntax error
 * with the same sentence (no position), calls a valid body with a `__proto__` key "not valid
 * JSON", and decodes invalid UTF-8 into U+FFFD, so a name or an email could be stored silently
 * repaired. This one says where the JSON breaks, names the refused key, and refuses bad UTF-8 at
 * its byte offset, as ingest and the integrations do (core/json-limits.ts).
 */
import { KeelError } from '../core/errors.js';
import { utf8Problem } from '../core/json-limits.js';

/** Keys that would reach an object's prototype when the body is later merged into another object. */
function refuseProtoKeys(key: string, value: unknown): unknown {
  if (key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype'))) {
    throw new KeelError('malformed_body', `body has a "${key}" key${key === 'constructor' ? ' holding "prototype"' : ''}, which Keel refuses (prototype pollution); remove or rename it`);
  }
  return value;
}

export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) throw new KeelError('empty_body', 'request body is empty');
  const bad = utf8Problem(body);
  if (bad) throw new KeelError('malformed_body', bad.message);
  try {
    return JSON.parse(body.toString('utf8'), refuseProtoKeys);
  } catch (e) {
    if (e instanceof KeelError) throw e;
    throw new KeelError('malformed_body', `body is not valid JSON: ${(e as Error).message}`);
  }
}

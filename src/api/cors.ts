/**
 * CORS, off unless origins are configured. Hand-written (~30 lines) because @fastify/cors is not
 * among Keel's dependencies and the policy is small: exact origins only, credentials allowed, a
 * fixed list of headers.
 */
import type { FastifyInstance } from 'fastify';
import { KeelError } from '../core/errors.js';

const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE';
const ALLOWED_HEADERS = 'authorization, content-type, content-encoding, idempotency-key, x-api-key, x-csrf-token, x-keel-team, x-request-id';
const EXPOSED_HEADERS = 'x-request-id, retry-after';

export function installCors(app: FastifyInstance, origins: string[]): void {
  if (origins.length === 0) return;
  const allowed = new Set(origins);
  app.addHook('onRequest', async (req, reply) => {
    void reply.header('vary', 'Origin');
    const origin = req.headers.origin;
    if (!origin || !allowed.has(origin)) return;
    void reply.header('access-control-allow-origin', origin);
    void reply.header('access-control-allow-credentials', 'true');
    void reply.header('access-control-expose-headers', EXPOSED_HEADERS);
  });
  app.options('*', async (req, reply) => {
    const origin = req.headers.origin;
    if (!origin || !allowed.has(origin) || !req.headers['access-control-request-method']) {
      throw new KeelError('forbidden', `origin ${origin ?? '(none)'} is not allowed to call this API (security.cors.origins)`);
    }
    void reply.code(204).header('access-control-allow-methods', ALLOWED_METHODS).header('access-control-allow-headers', ALLOWED_HEADERS).header('access-control-max-age', '600').send();
  });
}

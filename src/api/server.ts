/**
 * Builds the HTTP server from route definitions. This is the one place where a request is
 * authenticated, checked against the route's permission, validated, audited and measured.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import type { AuditLog } from '../audit/audit-log.js';
import { KeelError } from '../core/errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { KeelMetrics } from '../telemetry/metrics.js';
import { toKeelError } from './errors.js';
import { readRawBody } from './raw-body.js';
import { buildOpenApi } from './openapi.js';
import { SENT, type AnyRoute, type AuditNote } from './route.js';

/** How the server learns who is calling; supplied by auth/, so api/ depends on no domain. */
export interface Authenticator {
  authenticate(credential: string): Promise<Principal>;
  /** Words for a 403: what grants the permission (a scope, a role). */
  describe(permission: Permission): string;
  /** How the audit log and request log name the caller. */
  actor(principal: Principal | undefined): string;
}

export interface ServerDeps {
  auth: Authenticator;
  audit: AuditLog;
  metrics: KeelMetrics;
  logger: Logger;
  routes: AnyRoute[];
  /** Default limit for JSON bodies of API routes (ingest sets its own). */
  bodyLimit?: number;
  requestTimeoutMs?: number;
  tls?: { cert: string; key: string };
  version: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    keelRoute?: AnyRoute;
  }
}

export function credentialOf(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1] : undefined;
  }
  const x = req.headers['x-api-key'];
  return typeof x === 'string' && x.length > 0 ? x : undefined;
}

export function buildServer(deps: ServerDeps): FastifyInstance {
  const { logger, metrics } = deps;
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    bodyLimit: deps.bodyLimit ?? 1024 * 1024,
    requestTimeout: deps.requestTimeoutMs ?? 30_000,
    connectionTimeout: deps.requestTimeoutMs ?? 30_000,
    keepAliveTimeout: 75_000,
    return503OnClosing: true,
    ...(deps.tls ? { https: { cert: readFileSync(deps.tls.cert), key: readFileSync(deps.tls.key) } } : {}),
  }) as unknown as FastifyInstance;

  app.setErrorHandler((err, req, reply) => {
    const route = req.routeOptions.config.keelRoute;
    const ke = toKeelError(err, { bodyLimit: route?.rawBody?.bodyLimit ?? deps.bodyLimit ?? 1024 * 1024 });
    if (ke.status >= 500 && ke.code === 'internal') {
      req.log.error({ err, reqId: req.id }, 'request failed');
    }
    if (ke.retryAfterSeconds !== undefined) void reply.header('retry-after', String(ke.retryAfterSeconds));
    void reply.code(ke.status).type('application/json').send(ke.toJSON());
  });

  app.setNotFoundHandler((req, reply) => {
    void reply
      .code(404)
      .type('application/json')
      .send(new KeelError('not_found', `no route for ${req.method} ${req.url.split('?')[0]}`).toJSON());
  });

  app.addHook('onSend', async (req, reply, payload) => {
    void reply.header('x-request-id', req.id);
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.httpDuration.observe({ method: req.method, route, status: String(reply.statusCode) }, seconds);
    req.routeOptions.config.keelRoute?.onResponse?.(req, reply);
    req.log.info(
      {
        method: req.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        actor: deps.auth.actor(req.principal),
        ip: req.ip,
      },
      'request',
    );
  });

  // Routes with raw bodies (ingest) live in their own context, where every content type arrives as
  // bytes and the handler decides what it accepts.
  const rawRoutes = deps.routes.filter((r) => r.rawBody);
  const jsonRoutes = deps.routes.filter((r) => !r.rawBody);

  for (const r of jsonRoutes) register(app, r, deps);
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', async (req: FastifyRequest) => {
      const limit = req.routeOptions.config.keelRoute?.rawBody?.bodyLimit ?? maxRawLimit(rawRoutes);
      return readRawBody(req.raw, limit);
    });
    for (const r of rawRoutes) register(scope, r, deps);
  });

  const openapi = buildOpenApi(deps.routes, deps.version);
  app.get('/v1/openapi.json', async () => openapi);
  return app;
}

function maxRawLimit(routes: AnyRoute[]): number {
  return Math.max(1024 * 1024, ...routes.map((r) => r.rawBody!.bodyLimit));
}

function register(app: FastifyInstance, def: AnyRoute, deps: ServerDeps): void {
  app.route({
    method: def.method,
    url: def.url,
    config: { keelRoute: def },
    ...(def.rawBody ? { bodyLimit: def.rawBody.bodyLimit } : {}),
    // Authentication and the permission check run first, so an unauthorised caller learns nothing
    // about the body it sent (not even that its content type is wrong).
    onRequest: async (req: FastifyRequest) => {
      if (def.permission === 'public') return;
      const credential = credentialOf(req);
      if (!credential) {
        throw new KeelError('unauthorized', 'missing API key: send "Authorization: Bearer <key>"');
      }
      const principal = await deps.auth.authenticate(credential);
      req.principal = principal;
      if (!principal.permissions.has(def.permission)) {
        throw new KeelError(
          'forbidden',
          `this key lacks the permission ${def.permission} (${deps.auth.describe(def.permission)}) needed for ${def.method} ${def.url}`,
        );
      }
    },
    handler: async (req: FastifyRequest, reply: FastifyReply) => {
      const principal = req.principal;
      const params = def.params ? def.params.parse(req.params) : req.params;
      const query = def.query ? def.query.parse(req.query ?? {}) : req.query;
      let body: unknown = req.body;
      if (def.body && !def.rawBody) {
        if (body === undefined) throw new KeelError('empty_body', 'request body is required (application/json)');
        body = def.body.parse(body);
      }
      const notes: AuditNote[] = [];
      const result = await def.handler({
        body,
        query,
        params,
        principal: principal!,
        request: req,
        reply,
        audit: (n) => notes.push(n),
      });
      if (def.audit) {
        for (const n of notes.length ? notes : [{ target: def.url }]) {
          await deps.audit.record({
            actor: deps.auth.actor(principal),
            action: def.audit,
            tenant: n.tenant ?? principal?.tenant ?? '',
            target: n.target,
            before: n.before,
            after: n.after,
            sourceIp: req.ip,
            requestId: String(req.id),
          });
        }
      }
      if (result === SENT) return reply;
      const status = def.responses[0]?.status ?? 200;
      void reply.code(status);
      return result;
    },
  });
}

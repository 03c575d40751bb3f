/**
 * Builds the HTTP server from route definitions. This is the one place where a request is
 * authenticated, checked against the route's permission, validated, limited in size and time,
 * audited and measured; and where security headers (helmet), cookies and CORS are set up.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import fastifyCookie from '@fastify/cookie';
import helmet from 'helmet';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import type { AuditLog } from '../audit/audit-log.js';
import { KeelError } from '../core/errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { KeelMetrics } from '../telemetry/metrics.js';
import { installCors } from './cors.js';
import { MAX_PARAM_LENGTH, onClientError, onFrameworkError } from './framework-errors.js';
import { toKeelError } from './errors.js';
import { parseJsonBody } from './json-body.js';
import { readRawBody } from './raw-body.js';
import { buildOpenApi } from './openapi.js';
import { SENT, type AnyRoute, type AuditNote } from './route.js';

/** What an authenticator sees of a request. */
export interface AuthRequest {
  method: string;
  headers: IncomingHttpHeaders;
  cookies: Record<string, string | undefined>;
}

/** How the server learns who is calling; supplied by auth/, so api/ depends on no domain. */
export interface Authenticator {
  /**
   * The caller (API key or session cookie), or undefined when the request carries no credential.
   * Throws 401 for a bad credential, 403 for a missing CSRF token, 404 for a team the caller is not in.
   */
  authenticate(req: AuthRequest): Promise<Principal | undefined>;
  /** Words for a 403: who lacks what, and what grants it (a scope, a role). */
  describe(permission: Permission, principal: Principal): string;
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
  /** Longest a client may take to send a whole request (slow clients are cut off). */
  requestTimeoutMs?: number;
  /** Longest a handler may run before the client gets a 503 (routes may declare more). */
  handlerTimeoutMs?: number;
  /** Check each JSON answer against its route's declared schema (config `server.checkResponses`). */
  checkResponses?: boolean;
  tls?: { cert: string; key: string };
  /** Browser origins allowed to call the API; none: CORS is off. */
  corsOrigins?: string[];
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

const DEFAULT_BODY_LIMIT = 1024 * 1024;
const DEFAULT_HANDLER_TIMEOUT_MS = 30_000;

/** A route that changes state without an audit entry is a bug; refuse it at startup. */
export function assertRouteDeclarations(routes: AnyRoute[]): void {
  const seen = new Set<string>();
  for (const r of routes) {
    const id = `${r.method} ${r.url}`;
    if (seen.has(id)) throw new Error(`route ${id} is declared twice`);
    seen.add(id);
    if (typeof r.permission !== 'string' || r.permission.length === 0) throw new Error(`route ${id} declares no permission`);
    if (r.method !== 'GET' && !r.audit && !r.auditExempt) {
      throw new Error(`route ${id} changes state but declares neither \`audit\` (the audited action) nor \`auditExempt\` (why not)`);
    }
  }
}

export function buildServer(deps: ServerDeps): FastifyInstance {
  const { logger, metrics } = deps;
  assertRouteDeclarations(deps.routes);
  const bodyLimit = deps.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    bodyLimit,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    requestTimeout: deps.requestTimeoutMs ?? 30_000,
    connectionTimeout: deps.requestTimeoutMs ?? 30_000,
    keepAliveTimeout: 75_000,
    // Answered below in Keel's error shape instead (fastify's own is {"error","message","statusCode"}).
    return503OnClosing: false,
    clientErrorHandler: onClientError,
    frameworkErrors: onFrameworkError,
    ...(deps.tls ? { https: { cert: readFileSync(deps.tls.cert), key: readFileSync(deps.tls.key) } } : {}),
  }) as unknown as FastifyInstance;

  app.setErrorHandler((err, req, reply) => {
    const route = req.routeOptions.config.keelRoute;
    const ke = toKeelError(err, { bodyLimit: route?.rawBody?.bodyLimit ?? route?.bodyLimit ?? bodyLimit });
    if (ke.status >= 500 && ke.code === 'internal') {
      req.log.error({ err, reqId: req.id }, 'request failed');
    }
    if (ke.retryAfterSeconds !== undefined) void reply.header('retry-after', String(ke.retryAfterSeconds));
    void reply.code(ke.status).type('application/json').send(ke.toJSON());
  });

  // While closing, new requests (on kept-alive connections) are told to retry elsewhere or later.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) throw new KeelError('unavailable', 'Keel is shutting down; retry shortly', { retryAfterSeconds: 2 });
  });

  app.setNotFoundHandler((req, reply) => {
    void reply
      .code(404)
      .type('application/json')
      .send(new KeelError('not_found', `no route for ${req.method} ${req.url.split('?')[0]}`).toJSON());
  });

  void app.register(fastifyCookie);
  // helmet's middleware, built once. (@fastify/helmet built it again for every request, parsing
  // the CSP directives each time: 7 µs of each request's CPU, every alert of a storm included.)
  const securityHeaders = helmet({
    // The API and the console Keel serves at / (src/console/): nothing is loaded from elsewhere or framed.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        // Over plain HTTP (a LAN install, tests) upgrading the console's own requests to https
        // would break every one of them; with TLS there is nothing to upgrade.
        upgradeInsecureRequests: deps.tls ? [] : null,
      },
    },
    // HSTS only means something over TLS; on plain HTTP it would pin nothing.
    hsts: deps.tls ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
  app.addHook('onRequest', (req, reply, done) => securityHeaders(req.raw, reply.raw, (err) => done(err instanceof Error ? err : undefined)));
  installCors(app, deps.corsOrigins ?? []);

  app.addHook('onSend', async (req, reply, payload) => {
    void reply.header('x-request-id', req.id);
    // Answers about keys, users and sessions must not sit in shared caches.
    if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
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

  // Routes load after the plugins above, so helmet's and cookie's hooks cover every one of them.
  // Routes with raw bodies (ingest) live in their own context, where every content type arrives as
  // bytes and the handler decides what it accepts.
  const rawRoutes = deps.routes.filter((r) => r.rawBody);
  const jsonRoutes = deps.routes.filter((r) => !r.rawBody);
  const openapi = buildOpenApi(deps.routes, deps.version);
  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
      try {
        done(null, parseJsonBody(body as Buffer));
      } catch (e) {
        done(e as Error, undefined);
      }
    });
    for (const r of jsonRoutes) register(scope, r, deps);
    scope.get('/v1/openapi.json', async () => openapi);
  });
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', async (req: FastifyRequest) => {
      const limit = req.routeOptions.config.keelRoute?.rawBody?.bodyLimit ?? maxRawLimit(rawRoutes);
      return readRawBody(req.raw, limit);
    });
    for (const r of rawRoutes) register(scope, r, deps);
  });
  return app;
}

function maxRawLimit(routes: AnyRoute[]): number {
  return Math.max(1024 * 1024, ...routes.map((r) => r.rawBody!.bodyLimit));
}

/** Resolves with the work, or rejects with a 503 once `ms` have passed (the work goes on). */
function withinTime<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new KeelError('unavailable', `${what} took longer than ${ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`}; it may still complete, check before retrying`, { retryAfterSeconds: 5 }),
        ),
      ms,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A state-changing request that failed: refused input (4xx) changed nothing, so its note goes; any
 * other failure may have changed something, so it becomes an entry saying the request failed.
 */
async function settleFailed(deps: ServerDeps, pending: string, err: unknown): Promise<void> {
  try {
    const failure = toKeelError(err);
    if (failure.status < 500) return await deps.audit.abandon(pending);
    const p = await deps.audit.pendingNote(pending);
    if (!p) return;
    await deps.audit.record(
      {
        actor: p.actor,
        action: p.action,
        tenant: p.tenant_id,
        target: p.target,
        after: { outcome: 'failed', error: failure.code },
        sourceIp: p.source_ip,
        requestId: p.request_id,
        ok: false,
      },
      pending,
    );
  } catch {
    // The note stays and is settled later as "outcome unknown": evidence either way.
  }
}

function register(app: FastifyInstance, def: AnyRoute, deps: ServerDeps): void {
  const route = `${def.method} ${def.url}`;
  app.route({
    method: def.method,
    url: def.url,
    config: { keelRoute: def },
    ...(def.rawBody ? { bodyLimit: def.rawBody.bodyLimit } : def.bodyLimit ? { bodyLimit: def.bodyLimit } : {}),
    // Authentication and the permission check run first, so an unauthorised caller learns nothing
    // about the body it sent (not even that its content type is wrong).
    onRequest: async (req: FastifyRequest) => {
      if (def.permission === 'public') return;
      const principal = await deps.auth.authenticate({ method: req.method, headers: req.headers, cookies: req.cookies });
      if (!principal) {
        throw new KeelError('unauthorized', 'missing credentials: send "Authorization: Bearer <API key>", or sign in (POST /v1/auth/sign-in)');
      }
      req.principal = principal;
      if (!principal.permissions.has(def.permission)) {
        if (def.method !== 'GET') {
          // Refused changes are evidence too (who tried what).
          await deps.audit.record({
            actor: deps.auth.actor(principal),
            action: def.audit ?? route,
            tenant: principal.tenant,
            target: req.url.split('?')[0] ?? def.url,
            after: { denied: def.permission },
            sourceIp: req.ip,
            requestId: String(req.id),
            ok: false,
          });
        }
        throw new KeelError('forbidden', `${deps.auth.describe(def.permission, principal)}, needed for ${route}`);
      }
    },
    // After authentication, before the body is read: a process that cannot take the request now
    // (ingest without its event log) answers at the headers and closes the connection, instead
    // of reading a body it will refuse.
    ...(def.admission
      ? {
          preParsing: async (req: FastifyRequest, reply: FastifyReply, payload: NodeJS.ReadableStream) => {
            try {
              await def.admission!(req);
            } catch (err) {
              void reply.header('connection', 'close');
              throw err;
            }
            return payload;
          },
        }
      : {}),
    handler: async (req: FastifyRequest, reply: FastifyReply) => {
      const principal = req.principal;
      const params = def.params ? def.params.parse(req.params) : req.params;
      const query = def.query ? def.query.parse(req.query ?? {}) : req.query;
      let body: unknown = req.body;
      if (def.body && !def.rawBody) {
        if (body === undefined) throw new KeelError('empty_body', 'request body is required (application/json)');
        body = def.body.parse(body);
      }
      const run = async () => {
        const notes: AuditNote[] = [];
        // Noted before the change: a process that stops between the change and its entry still
        // leaves evidence, settled as "outcome unknown" (AuditLog.settleInterrupted).
        const pending = def.audit
          ? await deps.audit.begin({
              actor: principal ? deps.auth.actor(principal) : 'anonymous',
              action: def.audit,
              tenant: principal?.tenant ?? '',
              target: req.url.split('?')[0] ?? def.url,
              sourceIp: req.ip,
              requestId: String(req.id),
            })
          : undefined;
        let result: unknown;
        try {
          result = await def.handler({
            body,
            query,
            params,
            principal: principal!,
            request: req,
            reply,
            audit: (n) => notes.push(n),
          });
        } catch (err) {
          if (pending !== undefined) await settleFailed(deps, pending, err);
          throw err;
        }
        if (def.audit) {
          let first = true;
          for (const n of notes.length ? notes : [{ target: def.url }]) {
            const entry = {
              actor: n.actor ?? deps.auth.actor(principal),
              action: def.audit,
              tenant: n.tenant ?? principal?.tenant ?? '',
              target: n.target,
              before: n.before,
              after: n.after,
              sourceIp: req.ip,
              requestId: String(req.id),
            };
            if (first && pending !== undefined) await deps.audit.record(entry, pending);
            else await deps.audit.record(entry);
            first = false;
          }
        }
        return result;
      };
      const work = run();
      // A late failure of work that already timed out is still logged, never unhandled.
      work.catch((err: unknown) => {
        if (reply.sent) req.log.warn({ err, route }, 'request failed after its answer was sent');
      });
      const result = await withinTime(work, Math.max(deps.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS, def.timeoutMs ?? 0), route);
      if (result === SENT) return reply;
      const status = def.responses[0]?.status ?? 200;
      if (deps.checkResponses) checkDeclaredAnswer(def, status, result);
      void reply.code(status);
      return result;
    },
  });
}

/**
 * The answer as the client will read it (after JSON serialisation: dates become strings,
 * undefined fields vanish) against the schema the route declares for its status. A mismatch is
 * Keel's bug, not the caller's: a 500 naming the route and the first fields that differ.
 */
function checkDeclaredAnswer(def: AnyRoute, status: number, result: unknown): void {
  const schema = def.responses.find((r) => r.status === status && (r.contentType ?? 'application/json') === 'application/json')?.schema;
  if (!schema || result === undefined) return;
  const parsed = schema.safeParse(JSON.parse(JSON.stringify(result)) as unknown);
  if (parsed.success) return;
  const fields = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new KeelError('internal', `${def.method} ${def.url} answered ${status} with a body its declared schema refuses: ${fields.join('; ')}`);
}

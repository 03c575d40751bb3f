/**
 * How every HTTP endpoint is declared: method, path, the one permission it needs, zod schemas for
 * what it accepts, and its handler. The server turns these into fastify routes (one permission
 * check, input validation with field paths, audit of changes) and into the OpenAPI description,
 * so the documentation cannot drift from the code.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteContext<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  /** Set on every route except public ones. */
  principal: Principal;
  request: FastifyRequest;
  reply: FastifyReply;
  /** Record what the change did, for the audit log (before/after are redacted of secrets). */
  audit(entry: AuditNote): void;
}

export interface AuditNote {
  target: string;
  /** Who, when the request had no principal (sign-in names the person signing in). */
  actor?: string;
  before?: unknown;
  after?: unknown;
  tenant?: string;
}

export interface RouteResponse {
  status: number;
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

export interface RouteDef<B = unknown, Q = unknown, P = unknown> {
  method: HttpMethod;
  url: string;
  summary: string;
  description?: string;
  tags: string[];
  /** `public`: no key needed (health, metrics, API description). */
  permission: Permission | 'public';
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  params?: z.ZodType<P>;
  /** The body arrives as raw bytes (ingest); content types and size limit are the route's. */
  rawBody?: { contentTypes: string[]; bodyLimit: number };
  /**
   * Name of the audited action, e.g. `keys.create`. Every route other than GET must declare it or
   * `auditExempt`: the server refuses to start otherwise.
   */
  audit?: string;
  /** Why a non-GET route writes no audit entry (e.g. it only computes a plan, or it is the event data plane). */
  auditExempt?: string;
  /**
   * For `public` routes that check a credential of their own (an integration key, a feed token,
   * a signed link): what they accept. They refuse callers without it (401/403/404).
   */
  authenticatesItself?: string;
  /** Largest JSON body this route accepts (default: `security.maxBodyBytes`). */
  bodyLimit?: number;
  /** Longest the handler may run (default: `security.handlerTimeout`); for long polls. */
  timeoutMs?: number;
  /**
   * Runs after authentication and before the body is read: throws a `KeelError` (503) when this
   * process cannot take the request now. The answer closes the connection (the body stays unread).
   */
  admission?(request: FastifyRequest): void | Promise<void>;
  responses: RouteResponse[];
  handler(ctx: RouteContext<B, Q, P>): Promise<unknown>;
  /** Runs after every response of this route, errors included (for per-route metrics). */
  onResponse?(request: FastifyRequest, reply: FastifyReply): void;
}

/** Identity function that lets TypeScript infer B, Q and P from the schemas. */
export function defineRoute<B = undefined, Q = undefined, P = undefined>(def: RouteDef<B, Q, P>): RouteDef<B, Q, P> {
  return def;
}

// A route list holds routes of many shapes; the server only needs them as the erased form.
export type AnyRoute = RouteDef<any, any, any>;

/** Marks a handler's result as already sent through `reply` (text, streams, custom status). */
export const SENT = Symbol('sent');

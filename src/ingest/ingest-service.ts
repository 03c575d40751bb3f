/**
 * Ingest of one request: decode, parse and validate, charge the tenant's quota, append to the log,
 * and answer only once the accepted events are durable. Knows nothing of HTTP beyond the shapes of
 * its input; the route turns its errors into responses.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Bus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import type { Tenant, TenantService } from '../auth/tenants.js';
import type { EventLog } from '../log/event-log.js';
import type { KeelMetrics } from '../telemetry/metrics.js';
import { ingestRefusal } from './admission.js';
import type { BatchParser, BodyKind } from './batch-parser.js';
import type { EventError } from './parse-batch.js';
import type { IngestLimits } from './limits.js';
import type { QuotaGate } from './quotas.js';

const gunzipAsync = promisify(gunzip);

export interface IngestRequest {
  tenant: string;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  idempotencyKey: string | undefined;
  body: Buffer;
}

export interface IngestAnswer {
  accepted: number;
  rejected: number;
  errors: Omit<EventError, 'code'>[] | EventError[];
}

const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines', 'application/jsonlines']);
export const INGEST_CONTENT_TYPES = ['application/json', ...NDJSON_TYPES];

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export class IngestService {
  private readonly tenantCache = new Map<string, { tenant: Tenant; expires: number }>();
  private readonly inflight = new Map<string, Promise<{ answer: string; bodyHash: string }>>();

  constructor(
    private readonly deps: {
      log: EventLog;
      tenants: TenantService;
      quotas: QuotaGate;
      parser: BatchParser;
      limits: IngestLimits;
      metrics: KeelMetrics;
      clock: Clock;
      /** Told of every append, so local processors wake at once instead of polling. */
      bus?: Bus;
    },
  ) {
    deps.tenants.onChange((t) => this.tenantCache.set(t.id, { tenant: t, expires: this.deps.clock.now() + 5_000 }));
  }

  /** Returns the JSON text of the 202 answer. */
  async ingest(req: IngestRequest): Promise<string> {
    const { quotas } = this.deps;
    const tenant = await this.tenant(req.tenant);
    const kind = bodyKind(req.contentType);
    if (req.idempotencyKey !== undefined) return this.idempotent(req, tenant, kind);
    this.admit();
    await quotas.precheck(tenant);
    return (await this.process(req, tenant, kind, undefined)).answer;
  }

  /** Refuses (503) while the log cannot take an append: before any new events are parsed or counted. */
  private admit(): void {
    const refusal = ingestRefusal(this.deps.log.health());
    if (refusal) throw refusal;
  }

  private async idempotent(req: IngestRequest, tenant: Tenant, kind: BodyKind): Promise<string> {
    const key = req.idempotencyKey!;
    if (!IDEMPOTENCY_KEY.test(key)) {
      throw new KeelError('bad_request', 'Idempotency-Key must be 1 to 255 visible ASCII characters', {
        details: [{ path: 'headers.idempotency-key', message: 'invalid' }],
      });
    }
    const bodyHash = createHash('sha256').update(req.body).digest('hex');
    const slot = `${tenant.id}\u0000${key}`;
    const running = this.inflight.get(slot);
    if (running) return sameRequest(await running, bodyHash, key);
    const stored = await this.deps.log.findIdempotent(tenant.id, key);
    // A repeat of a request already answered gets that answer even while the log refuses appends
    // (NATS without quorum, over its size limit) or the tenant is over its quota: it stores nothing.
    if (stored) return sameRequest({ answer: stored.response, bodyHash: stored.bodyHash }, bodyHash, key);
    this.admit();
    await this.deps.quotas.precheck(tenant);
    const work = this.process(req, tenant, kind, { key, bodyHash });
    this.inflight.set(slot, work);
    try {
      return sameRequest(await work, bodyHash, key);
    } finally {
      this.inflight.delete(slot);
    }
  }

  private async process(req: IngestRequest, tenant: Tenant, kind: BodyKind, idem: { key: string; bodyHash: string } | undefined): Promise<{ answer: string; bodyHash: string }> {
    const { log, quotas, metrics, limits, clock } = this.deps;
    const body = await decode(req.body, req.contentEncoding, limits.maxRequestBytes);
    metrics.ingestBytes.inc({ tenant: tenant.id }, body.length);
    const receivedAt = clock.now();
    const parsed = await this.deps.parser.parse(kind, body, receivedAt);
    const answer = JSON.stringify({
      accepted: parsed.accepted,
      rejected: parsed.errors.length,
      errors: parsed.errors,
    } satisfies IngestAnswer);
    if (parsed.accepted > 0) {
      await quotas.take(tenant, parsed.accepted);
      try {
        const result = await log.append(
          {
            tenant: tenant.id,
            data: parsed.data,
            count: parsed.accepted,
            minTs: parsed.minTs,
            maxTs: parsed.maxTs,
            receivedAt,
            ...(idem ? { idempotency: { key: idem.key, bodyHash: idem.bodyHash, response: answer } } : {}),
          },
          // Asked only when the outcome is unknown, to record an Idempotency-Key for a retry.
          { hashBody: () => createHash('sha256').update(req.body).digest('hex') },
        );
        if (result.kind === 'appended') {
          this.deps.bus?.emit('log.appended', { tenant: tenant.id, partition: result.partition, position: result.position, count: parsed.accepted });
        }
        if (result.kind === 'duplicate') {
          // Another instance stored this key first: give back the quota and its answer.
          quotas.refund(tenant, parsed.accepted);
          return { answer: result.response, bodyHash: result.bodyHash };
        }
      } catch (e) {
        quotas.refund(tenant, parsed.accepted);
        throw e;
      }
      metrics.ingestEvents.inc({ tenant: tenant.id, outcome: 'accepted', reason: '' }, parsed.accepted);
    }
    if (parsed.errors.length > 0) {
      const byReason = new Map<string, number>();
      for (const e of parsed.errors) byReason.set(e.code, (byReason.get(e.code) ?? 0) + 1);
      for (const [reason, n] of byReason) metrics.ingestEvents.inc({ tenant: tenant.id, outcome: 'rejected', reason }, n);
    }
    return { answer, bodyHash: idem?.bodyHash ?? '' };
  }

  private async tenant(id: string): Promise<Tenant> {
    const now = this.deps.clock.now();
    const hit = this.tenantCache.get(id);
    if (hit && hit.expires > now) return hit.tenant;
    const tenant = await this.deps.tenants.get(id);
    if (!tenant) throw new KeelError('forbidden', `tenant "${id}" of this key no longer exists`);
    this.tenantCache.set(id, { tenant, expires: now + 5_000 });
    return tenant;
  }
}

function sameRequest(prior: { answer: string; bodyHash: string }, bodyHash: string, key: string): string {
  if (prior.bodyHash !== bodyHash) {
    throw new KeelError('idempotency_key_reused', `Idempotency-Key "${key}" was already used for a different request body; use a new key for a new request`);
  }
  return prior.answer;
}

export function bodyKind(contentType: string | undefined): BodyKind {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return 'json';
  if (NDJSON_TYPES.has(type)) return 'ndjson';
  throw new KeelError('unsupported_media_type', `Content-Type "${type || '(none)'}" is not supported; send application/x-ndjson or application/json`);
}

async function decode(body: Buffer, encoding: string | undefined, maxBytes: number): Promise<Buffer> {
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') return body;
  if (enc !== 'gzip' && enc !== 'x-gzip') {
    throw new KeelError('unsupported_encoding', `Content-Encoding "${enc}" is not supported; send gzip or no encoding`);
  }
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBytes });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new KeelError('payload_too_large', `request body is larger than ${maxBytes} bytes once gzip is undone`);
    }
    throw new KeelError('malformed_body', `body is not valid gzip: ${(e as Error).message}`);
  }
}

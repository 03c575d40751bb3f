/**
 * `server.checkResponses` (on in every test): an answer that its route's declared schema refuses
 * is a 500 naming the route and the field, so the OpenAPI description cannot drift from what
 * the routes really send. Off, the same answer goes out as it is.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineRoute } from '../../src/api/route.js';
import { buildServer } from '../../src/api/server.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { systemClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config.js';
import { openSqliteStore, type Store } from '../../src/store/store.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { KeelMetrics } from '../../src/telemetry/metrics.js';

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

async function serverAnswering(answer: unknown, checkResponses: boolean) {
  const store = await openSqliteStore(':memory:');
  stores.push(store);
  return buildServer({
    auth: { authenticate: async () => undefined, describe: () => '', actor: () => 'anonymous' },
    audit: new AuditLog(store, systemClock),
    metrics: new KeelMetrics(),
    logger: createLogger('silent'),
    version: 'test',
    checkResponses,
    routes: [
      defineRoute({
        method: 'GET',
        url: '/thing',
        summary: 'a thing',
        tags: [],
        permission: 'public',
        responses: [{ status: 200, description: 'The thing', schema: z.object({ name: z.string(), at: z.string().datetime(), count: z.number().int() }).strict() }],
        handler: async () => answer,
      }),
    ],
  });
}

describe('declared answers are checked', () => {
  it('passes an answer that matches, dates serialised as the client reads them', async () => {
    const app = await serverAnswering({ name: 'a', at: new Date(Date.UTC(2026, 11, 5)), count: 3 }, true);
    const r = await app.inject({ method: 'GET', url: '/thing' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ name: 'a', at: '2026-12-05T00:00:00.000Z', count: 3 });
    await app.close();
  });

  it('answers 500 naming the route and the fields when the answer drifted from its schema', async () => {
    const app = await serverAnswering({ name: 'a', at: 'yesterday', count: 3, extra: true }, true);
    const r = await app.inject({ method: 'GET', url: '/thing' });
    expect(r.statusCode).toBe(500);
    const message = (r.json() as { error: { message: string } }).error.message;
    expect(message).toContain('GET /thing answered 200 with a body its declared schema refuses');
    expect(message).toContain('at: ');
    expect(message).toContain('extra');
    await app.close();
  });

  it('sends the answer unchecked when the check is off (production default)', async () => {
    const app = await serverAnswering({ name: 'a', at: 'yesterday', count: 3 }, false);
    const r = await app.inject({ method: 'GET', url: '/thing' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ name: 'a', at: 'yesterday', count: 3 });
    await app.close();
  });

  it('is off unless configured, and KEEL_CHECK_RESPONSES takes 1/0/true/false only', () => {
    expect(loadConfig({ env: {}, overrides: { dataDir: '/nonexistent-keel' } }).server.checkResponses).toBe(false);
    expect(loadConfig({ env: { KEEL_CHECK_RESPONSES: '1' }, overrides: { dataDir: '/nonexistent-keel' } }).server.checkResponses).toBe(true);
    expect(loadConfig({ env: { KEEL_CHECK_RESPONSES: 'false' }, overrides: { dataDir: '/nonexistent-keel' } }).server.checkResponses).toBe(false);
    expect(() => loadConfig({ env: { KEEL_CHECK_RESPONSES: 'yes' }, overrides: { dataDir: '/nonexistent-keel' } })).toThrow('KEEL_CHECK_RESPONSES="yes" is not a boolean (1, 0, true or false)');
  });
});

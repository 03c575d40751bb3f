import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readinessSchema } from '../../src/telemetry/schemas.js';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel();
});
afterAll(async () => t?.close());

describe('health, readiness and metrics', () => {
  it('answers /healthz and /readyz without a key', async () => {
    expect((await http(`${t.url}/healthz`)).body).toMatchObject({ status: 'ok' });
    const ready = await http(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toMatchObject({ state_store: { ok: true }, event_log: { ok: true } });
    // /readyz sends its answer itself (200 or 503), past the server's check of declared answers.
    expect(readinessSchema.safeParse(ready.body).error).toBeUndefined();
  });

  it('exports Prometheus metrics for ingest, latency, the log and commit groups', async () => {
    const key = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'metrics', scopes: ['ingest'] } })).body.key;
    await http(`${t.url}/v1/events`, { method: 'POST', key, body: ndjson([{ a: 1 }, { b: 2 }]) + 'bad\n', headers: { 'content-type': 'application/x-ndjson' } });
    await http(`${t.url}/v1/events`, { method: 'POST', key, body: 'x', headers: { 'content-type': 'text/plain' } });
    // A system admin's key sees the tenant labels (anonymous scrapes do not: metrics-access.test.ts).
    const m = await http(`${t.url}/metrics`, { key: t.adminKey });
    expect(m.status).toBe(200);
    expect(m.headers['content-type']).toContain('text/plain');
    const text = m.text;
    expect(text).toContain('keel_ingest_events_total{tenant="metrics",outcome="accepted",reason=""} 2');
    expect(text).toContain('keel_ingest_events_total{tenant="metrics",outcome="rejected",reason="invalid_json"} 1');
    expect(text).toContain('keel_ingest_requests_total{tenant="metrics",status="415"} 1');
    expect(text).toMatch(/keel_http_request_duration_seconds_bucket\{le="0.05",method="POST",route="\/v1\/events",status="202"\} \d+/);
    expect(text).toMatch(/keel_log_bytes \d+/);
    expect(text).toMatch(/keel_log_commit_group_events_count \d+/);
    expect(text).toContain('keel_log_consumer_lag_events');
    expect(text).toContain('process_cpu_seconds_total');
  });

  it('gives every response a request id and every error one JSON shape', async () => {
    const r = await http(`${t.url}/v1/nowhere`);
    expect(r.status).toBe(404);
    expect(r.headers['x-request-id']).toBeTruthy();
    expect(r.body).toEqual({ error: { code: 'not_found', message: 'no route for GET /v1/nowhere' } });
    const mine = await http(`${t.url}/healthz`, { headers: { 'x-request-id': 'trace-me-123' } });
    expect(mine.headers['x-request-id']).toBe('trace-me-123');
  });

  it('describes every route in OpenAPI', async () => {
    const doc = (await http(`${t.url}/v1/openapi.json`)).body;
    expect(doc.openapi).toBe('3.1.0');
    for (const [path, method] of [
      ['/v1/events', 'post'],
      ['/v1/events', 'get'],
      ['/v1/keys', 'post'],
      ['/v1/keys/{id}', 'delete'],
      ['/v1/tenants/{id}', 'patch'],
      ['/v1/definitions/apply', 'post'],
      ['/metrics', 'get'],
    ] as const) {
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
    expect(doc.paths['/v1/events'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['from', 'to', 'limit', 'cursor', 'wait']);
    expect(doc.paths['/v1/keys'].post.requestBody.content['application/json'].schema.properties.scopes).toBeDefined();
  });

  it('answers malformed JSON and unknown fields on API routes with 400s naming them', async () => {
    const bad = await http(`${t.url}/v1/keys`, { method: 'POST', key: t.adminKey, body: '{"scopes": [', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('malformed_body');
    const unknown = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { scopes: ['read'], colour: 'red' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('colour');
    const wrongType = await http(`${t.url}/v1/tenants`, { key: t.adminKey, json: { id: 'x', eventsPerSecond: 'fast' } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error.message).toContain('eventsPerSecond');
    const type = await http(`${t.url}/v1/keys`, { method: 'POST', key: t.adminKey, body: 'scopes=read', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(type.status).toBe(415);
  });
});

describe('backpressure', () => {
  it('answers 503 while a consumer lags more than the limit, and recovers when it catches up', async () => {
    const lagging = await startTestKeel({ log: { maxLagEvents: 5 } });
    try {
      const key = (await http(`${lagging.url}/v1/keys`, { key: lagging.adminKey, json: { tenant: 'lag', scopes: ['ingest'] } })).body.key;
      const send = () => http(`${lagging.url}/v1/events`, { method: 'POST', key, body: ndjson(Array.from({ length: 10 }, (_, i) => ({ i }))), headers: { 'content-type': 'application/x-ndjson' } });
      await lagging.keel.log.commit('slow-consumer', 0, 0);
      expect((await send()).status).toBe(202);
      await new Promise((r) => setTimeout(r, 1100)); // lag is sampled at most once a second
      const refused = await send();
      expect(refused.status).toBe(503);
      expect(refused.body.error.message).toContain('slow-consumer is 10 events behind');
      expect(refused.headers['retry-after']).toBe('5');
      const stats = await http(`${lagging.url}/v1/log`, { key: lagging.adminKey });
      await lagging.keel.log.commit('slow-consumer', 0, stats.body.lastPositions[0]);
      expect((await send()).status).toBe(202);
    } finally {
      await lagging.close();
    }
  });

  it('answers 503 with Retry-After while the log is over its size limit, and stores nothing', async () => {
    const small = await startTestKeel({ log: { maxBytes: 2000 } });
    try {
      const key = (await http(`${small.url}/v1/keys`, { key: small.adminKey, json: { tenant: 'bp', scopes: ['ingest', 'read'] } })).body.key;
      const send = () => http(`${small.url}/v1/events`, { method: 'POST', key, body: ndjson([{ pad: 'x'.repeat(3000) }]), headers: { 'content-type': 'application/x-ndjson' } });
      expect((await send()).status).toBe(202);
      const refused = await send();
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('30');
      expect(refused.body.error.code).toBe('overloaded');
      expect((await http(`${small.url}/v1/events`, { key })).body.events).toHaveLength(1);
      const ready = await http(`${small.url}/readyz`);
      expect(ready.body.ingest).toMatchObject({ refusing: true });
      expect(readinessSchema.safeParse(ready.body).error).toBeUndefined();
    } finally {
      await small.close();
    }
  });
});

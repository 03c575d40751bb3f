/**
 * A repeat of a request already answered (same Idempotency-Key, same body) gets that answer while
 * ingest refuses new events: here the log is over `log.maxBytes` (503 `overloaded`), as a stream
 * without quorum is `unavailable` in the distributed mode. Nothing new is stored; a new request,
 * with or without a key, is still refused, and the key with another body is still a 422. The same
 * while the tenant is paused (429).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { waitFor } from '../helpers/paging.js';

let t: TestKeel;
let ingestKey: string;
let readKey: string;

const key = async (scopes: string[]) => (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes } })).body.key as string;
const send = (body: string, headers: Record<string, string> = {}) =>
  http(`${t.url}/v1/events`, { method: 'POST', key: ingestKey, body, headers: { 'content-type': 'application/x-ndjson', ...headers } });

beforeAll(async () => {
  // The first batch takes the log over its limit: every later append is refused.
  t = await startTestKeel({ log: { maxBytes: 1 } });
  ingestKey = await key(['ingest']);
  readKey = await key(['read']);
});
afterAll(async () => t?.close());

describe('an idempotent repeat while ingest refuses', () => {
  it('gets the first answer back; new requests are refused and nothing new is stored', async () => {
    const body = ndjson([{ n: 1 }, 'not json', { n: 2 }]);
    const first = await send(body, { 'idempotency-key': 'batch-1' });
    expect(first.status, first.text).toBe(202);
    expect(first.body).toMatchObject({ accepted: 2, rejected: 1 });

    const refused = await send(ndjson([{ n: 3 }]));
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('overloaded');
    expect(refused.body.error.message).toMatch(/over its limit of 1/);

    const repeat = await send(body, { 'idempotency-key': 'batch-1' });
    expect(repeat.status, repeat.text).toBe(202);
    expect(repeat.text).toBe(first.text);

    const fresh = await send(ndjson([{ n: 4 }]), { 'idempotency-key': 'batch-2' });
    expect(fresh.status).toBe(503);
    expect(fresh.body.error.code).toBe('overloaded');
    const reused = await send(ndjson([{ n: 5 }]), { 'idempotency-key': 'batch-1' });
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('idempotency_key_reused');

    const events = await http(`${t.url}/v1/events?limit=100`, { key: readKey });
    expect((events.body.events as { n: number }[]).map((e) => e.n)).toEqual([1, 2]);
  });
});

describe('an idempotent repeat while the tenant is paused', () => {
  let u: TestKeel;
  afterAll(async () => u?.close());

  it('gets the first answer back; a new request is refused with 429', async () => {
    u = await startTestKeel();
    const ingest = (await http(`${u.url}/v1/keys`, { key: u.adminKey, json: { tenant: 'acme', scopes: ['ingest'] } })).body.key as string;
    const post = (body: string, headers: Record<string, string> = {}) =>
      http(`${u.url}/v1/events`, { method: 'POST', key: ingest, body, headers: { 'content-type': 'application/x-ndjson', ...headers } });
    const body = ndjson([{ n: 1 }]);
    const first = await post(body, { 'idempotency-key': 'paused-1' });
    expect(first.status, first.text).toBe(202);
    const paused = await http(`${u.url}/v1/tenants/acme`, { method: 'PATCH', key: u.adminKey, json: { paused: true } });
    expect(paused.status, paused.text).toBe(200);
    // Ingest reads a tenant's settings at most 5 s old.
    await waitFor('new requests to be refused', async () => (await post(ndjson([{ n: 2 }]))).status === 429);
    const repeat = await post(body, { 'idempotency-key': 'paused-1' });
    expect(repeat.status, repeat.text).toBe(202);
    expect(repeat.text).toBe(first.text);
    const fresh = await post(ndjson([{ n: 3 }]), { 'idempotency-key': 'paused-2' });
    expect(fresh.status).toBe(429);
    expect(fresh.body.error.message).toMatch(/paused/);
  });
});

/**
 * `keel verify counts` in the embedded mode: usage and SLO totals recomputed from the log agree
 * with the counters (exit 0), an SLO counter changed behind Keel's back is named with its SLO,
 * bucket, figures and batches (exit 1), and an SLO whose counting changed is compared through its
 * new, backfilled generation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { runCliWithEnv } from '../helpers/cli.js';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { SERVICE, applyYaml, ratioSlo, settled } from '../slo/fixtures.js';

let t: TestKeel;
let ingestKey: string;
/** Whole minutes in the recent past, so every bucket is inside what is compared. */
const M = Math.floor(Date.now() / 60_000) * 60_000 - 20 * 60_000;
const EARLY = M - 5 * 60_000;

async function send(events: unknown[]): Promise<void> {
  const r = await http(`${t.url}/v1/events`, { method: 'POST', key: ingestKey, body: ndjson(events), headers: { 'content-type': 'application/x-ndjson' } });
  expect(r.status).toBe(202);
}

async function verify(expectedExit: number, json = true): Promise<any> {
  const since = new Date(M - 3_600_000).toISOString();
  const r = await runCliWithEnv(['verify', 'counts', '--since', since, ...(json ? ['--json'] : [])], { KEEL_URL: t.url, KEEL_API_KEY: t.adminKey });
  if (r.code !== expectedExit) throw new Error(`keel verify counts exited ${r.code}, expected ${expectedExit}: ${r.stdout}${r.stderr}`);
  return json ? JSON.parse(r.stdout) : r.stdout;
}

const ev = (at: number, status: number, i: number) => ({ ts: new Date(at + (i % 50) * 1000).toISOString(), service: 'checkout', status, i });

beforeAll(async () => {
  t = await startTestKeel({ log: { retention: { maxAge: '30d' } } });
  const k = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['ingest', 'read', 'admin'] } });
  expect(k.status).toBe(201);
  ingestKey = k.body.key;
  // Before the SLO exists: these reach its counters through the backfill.
  await send([ev(EARLY, 200, 0), ev(EARLY, 200, 1), ev(EARLY, 500, 2), ev(EARLY, 200, 3)]);
  expect((await applyYaml(t.url, ingestKey, SERVICE + '---\n' + ratioSlo('checkout-availability', { window: '1h' }))).status).toBe(200);
  await settled(t.url, ingestKey, t.adminKey);
  // After it: counted live. Minute M: 10 events, 2 of them bad.
  await send(Array.from({ length: 10 }, (_, i) => ev(M, i < 2 ? 503 : 200, i)));
  await send([{ service: 'search', status: 500, ts: new Date(M).toISOString() }]);
  await settled(t.url, ingestKey, t.adminKey);
});
afterAll(async () => t?.close());

describe('keel verify counts, SLO totals', () => {
  it('agrees with the log for an SLO counted partly by backfill and partly live (exit 0)', async () => {
    const r = await verify(0);
    expect(r.ok).toBe(true);
    expect(r.differences).toEqual([]);
    expect(r.slo.differenceCount).toBe(0);
    expect(r.slo.compared.map((s: { tenant: string; slo: string }) => `${s.tenant}/${s.slo}`)).toEqual(['acme/checkout-availability']);
    expect(r.slo.skipped).toEqual([]);
    // Minute M and minute EARLY, each at 10 s (several cells), 1 min, and their hour/day buckets.
    expect(r.slo.buckets).toBeGreaterThanOrEqual(4);
    expect(r.log.completeFrom).toBeNull();
    const text = await verify(0, false);
    expect(text).toMatch(/^OK: /);
    expect(text).toContain('slo: ');
  }, 60_000);

  it("names the SLO, bucket, figures and batches of an SLO counter changed behind Keel's back (exit 1)", async () => {
    const store = t.keel.store;
    const minuteRow = () =>
      store.db
        .updateTable('slo_counts')
        .where('res', '=', 60)
        .where('bucket', '=', M)
        .where('series_id', 'in', store.db.selectFrom('slo_series').select('id').where('breakdown', '=', ''));
    await minuteRow()
      .set({ good: sql`good - 3` })
      .execute();
    try {
      const r = await verify(1);
      expect(r.ok).toBe(false);
      expect(r.differences).toEqual([]);
      expect(r.slo.differenceCount).toBe(1);
      const d = r.slo.differences[0];
      expect(d).toMatchObject({
        tenant: 'acme',
        slo: 'checkout-availability',
        objective: 0,
        resolution: 60,
        bucket: new Date(M).toISOString(),
        log: { good: 8, bad: 2, total: 10 },
        counted: { good: 5, bad: 5, total: 10 },
        partitions: [0],
      });
      // The tenant's batches with events in minute M: the checkout batch and the search batch
      // (the embedded log has no batch ids, so positions name them).
      expect(d.batches).toEqual(['position 2', 'position 3']);
      const text = await verify(1, false);
      expect(text).toMatch(/^DIFFERENT: /);
      expect(text).toContain('acme/checkout-availability');
      expect(text).toContain('8/2/10');
      expect(text).toContain('5/5/10');
    } finally {
      await minuteRow()
        .set({ good: sql`good + 3` })
        .execute();
    }
    await verify(0);
  }, 60_000);

  it('compares an SLO whose counting changed through its new generation, backfilled from the log', async () => {
    // A different good filter: a new generation, counted anew from the log.
    expect((await applyYaml(t.url, ingestKey, SERVICE + '---\n' + ratioSlo('checkout-availability', { window: '1h', good: 'status < 503' }))).status).toBe(200);
    await settled(t.url, ingestKey, t.adminKey);
    const r = await verify(0);
    expect(r.slo.compared).toHaveLength(1);
    expect(Date.parse(r.slo.compared[0].appliedAt)).toBeGreaterThan(M);
    expect(r.slo.differenceCount).toBe(0);
    // The new generation's counts are the new definition's: in minute M only the two 503s are bad.
    const store = t.keel.store;
    const row = await store.db
      .selectFrom('slo_counts')
      .innerJoin('slo_series', 'slo_series.id', 'slo_counts.series_id')
      .select(['good', 'total'])
      .where('slo_series.gen_uid', '=', r.slo.compared[0].generation)
      .where('breakdown', '=', '')
      .where('res', '=', 60)
      .where('bucket', '=', EARLY)
      .executeTakeFirstOrThrow();
    expect([Number(row.good), Number(row.total)]).toEqual([4, 4]);
  }, 60_000);

  it('compares only what the log still holds once retention removed batches, and says so (exit 0, not a false difference)', async () => {
    const before = Date.now();
    // Retention removes every batch (every consumer has committed past them); the counters stay.
    const swept = await t.keel.log.sweep({ now: Date.now() + 1_000, maxAgeMs: 1, maxBytes: 0, idempotencyTtlMs: 86_400_000 });
    expect(swept.deletedBatches).toBe(3);
    const r = await verify(0);
    expect(Date.parse(r.log.completeFrom)).toBeGreaterThanOrEqual(before);
    expect(r.usage.limitedBy).toBe('log retention');
    expect(r.slo.compared[0].limitedBy).toBe('log retention');
    expect(r.slo.differenceCount).toBe(0);
    expect(r.differences).toEqual([]);
    expect(await verify(0, false)).toContain("the log's retention removed older batches");
  }, 60_000);
});

/**
 * Exactly-once under crashes: a real `keel start` child ingests under load and is SIGKILLed at
 * random moments several times (once during a new SLO's backfill); after the last restart every
 * SLO's counters equal a brute-force recount of the stored events, per SLO and per bucket.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prng } from '../../src/bench/events.js';
import { spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { http, ndjson } from '../helpers/keel.js';
import { SERVICE, applyYaml, ratioSlo, settled } from './fixtures.js';

const rnd = prng(Number(process.env.KEEL_CRASH_SEED ?? 99));
const dataDir = mkdtempSync(join(tmpdir(), 'keel-slo-crash-'));
const adminKey = 'keel_crash_admin_key_0123456789abcdef';
let keel: KeelProcess | undefined;

afterAll(async () => {
  await keel?.stop('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

const SLOS = [
  { name: 'checkout', yaml: ratioSlo('checkout', { breakdown: ['region'] }), total: (e: Ev) => e.service === 'checkout', good: (e: Ev) => e.status < 500 },
  {
    name: 'eu-fast',
    yaml: ratioSlo('eu-fast', {
      total: 'region.startsWith("eu")',
      good: 'latency_ms <= 200',
      method: 'Timeslices',
      objectives: '    - target: 0.9\n      timeSliceTarget: 0.8\n      timeSliceWindow: 1m\n',
    }),
    total: (e: Ev) => e.region.startsWith('eu'),
    good: (e: Ev) => e.latency_ms <= 200,
  },
];

interface Ev {
  ts: string;
  service: string;
  status: number;
  region: string;
  latency_ms: number;
}

let seq = 0;
function batch(n: number): Ev[] {
  const now = Date.now();
  return Array.from({ length: n }, () => ({
    ts: new Date(now - Math.floor(rnd() * 600_000)).toISOString(),
    service: rnd() < 0.7 ? 'checkout' : 'search',
    status: rnd() < 0.05 ? 503 : 200,
    region: ['eu-west', 'eu-north', 'us', 'ap'][seq++ % 4]!,
    latency_ms: Math.floor(rnd() * 400),
  }));
}

/** Sends batches on a few connections until stopped; failures (the server dying) are expected. */
function load(url: string): { stop: () => Promise<number> } {
  let stopped = false;
  let acked = 0;
  const loops = Array.from({ length: 3 }, async () => {
    while (!stopped) {
      try {
        const r = await http(`${url}/v1/events`, { key: adminKey, body: ndjson(batch(1000)), headers: { 'content-type': 'application/x-ndjson' } });
        if (r.status === 202) acked += r.body.accepted as number;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return acked;
    },
  };
}

async function start(): Promise<KeelProcess> {
  return spawnKeel({ dataDir, adminKey });
}

describe('SLO counters under SIGKILL', () => {
  it('equal a brute-force recount of the stored events after repeated crashes', async () => {
    keel = await start();
    expect((await applyYaml(keel.url, adminKey, `${SERVICE}---\n${SLOS[0]!.yaml}`)).status).toBe(200);
    let acked = 0;
    for (let round = 0; round < 3; round++) {
      const l = load(keel.url);
      await new Promise((r) => setTimeout(r, 600 + rnd() * 900));
      if (round === 1) {
        // A new SLO while events pour in: its backfill and the live aggregator hand over at the
        // position its backfill claims; kill it in the middle of that.
        const r = await applyYaml(keel.url, adminKey, `${SERVICE}---\n${SLOS[0]!.yaml}---\n${SLOS[1]!.yaml}`);
        expect(r.status).toBe(200);
        await new Promise((r2) => setTimeout(r2, rnd() * 150));
      }
      await keel.stop('SIGKILL');
      acked += await l.stop();
      keel = await start();
    }
    expect(acked).toBeGreaterThan(3000);
    await settled(keel.url, adminKey);

    const stored: Ev[] = [];
    let cursor = '';
    for (;;) {
      const page = await http(`${keel.url}/v1/events?limit=10000${cursor ? `&cursor=${cursor}` : ''}`, { key: adminKey });
      stored.push(...page.body.events);
      cursor = page.body.cursor;
      if (!page.body.has_more) break;
    }
    expect(stored.length).toBeGreaterThanOrEqual(acked);

    for (const slo of SLOS) {
      const want = new Map<string, { good: number; total: number }>();
      for (const e of stored) {
        if (!slo.total(e)) continue;
        const minute = new Date(Math.floor(Date.parse(e.ts) / 60_000) * 60_000).toISOString();
        const b = want.get(minute) ?? { good: 0, total: 0 };
        b.total++;
        if (slo.good(e)) b.good++;
        want.set(minute, b);
      }
      for (const res of ['10s', '1m', '1h']) {
        const r = await http(`${keel.url}/v1/slos/${slo.name}/buckets?res=${res}`, { key: adminKey });
        expect(r.status).toBe(200);
        const sum = (r.body.buckets as { good: number; total: number }[]).reduce((s, b) => ({ good: s.good + b.good, total: s.total + b.total }), { good: 0, total: 0 });
        const all = [...want.values()].reduce((s, b) => ({ good: s.good + b.good, total: s.total + b.total }), { good: 0, total: 0 });
        expect(sum, `${slo.name} at ${res}`).toEqual(all);
        if (res === '1m') {
          const got = new Map((r.body.buckets as { start: string; good: number; total: number }[]).map((b) => [b.start, { good: b.good, total: b.total }]));
          expect(got, `${slo.name} per minute`).toEqual(want);
        }
      }
    }
    const s = await http(`${keel.url}/v1/slos/eu-fast`, { key: adminKey });
    expect(s.body.backfill.state).toBe('done');
  }, 180_000);
});

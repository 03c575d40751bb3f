/**
 * Durability contract: every event acknowledged with 202 survives SIGKILL of the process at any
 * moment, exactly once. A child Keel is killed at random moments under concurrent load, several
 * times; requests cut off by a kill are retried with their Idempotency-Key after the restart.
 */
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { prng } from '../../src/bench/events.js';

let keel: KeelProcess | undefined;
afterAll(async () => {
  await keel?.stop('SIGKILL');
  keel?.cleanup();
});

interface Req {
  key: string;
  uids: string[];
  body: string;
}

async function post(url: string, apiKey: string, r: Req): Promise<'acked' | 'failed'> {
  try {
    const res = await request(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/x-ndjson', 'idempotency-key': r.key },
      body: r.body,
    });
    const text = await res.body.text();
    if (res.statusCode !== 202) return 'failed';
    const answer = JSON.parse(text) as { accepted: number };
    if (answer.accepted !== r.uids.length) throw new Error(`accepted ${answer.accepted} of ${r.uids.length}`);
    return 'acked';
  } catch (e) {
    if ((e as Error).message.startsWith('accepted')) throw e;
    return 'failed';
  }
}

describe('SIGKILL under load', () => {
  it('keeps every acknowledged event exactly once across repeated kills', async () => {
    const rnd = prng(7);
    keel = await spawnKeel({ keepDataDir: true });
    const dataDir = keel.dataDir;
    const adminKey = keel.adminKey;
    const keyRes = await request(`${keel.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'crash', scopes: ['ingest', 'read'] }),
    });
    const apiKey = ((await keyRes.body.json()) as { key: string }).key;

    const acked = new Set<string>();
    const everSent = new Set<string>();
    let pending: Req[] = [];
    let seq = 0;
    const makeReq = (): Req => {
      const n = 20 + Math.floor(rnd() * 200);
      const id = seq++;
      const uids = Array.from({ length: n }, (_, i) => `r${id}-${i}`);
      for (const u of uids) everSent.add(u);
      return { key: `req-${id}`, uids, body: uids.map((uid) => JSON.stringify({ uid, service: 'crash', pad: 'x'.repeat(100) })).join('\n') + '\n' };
    };

    const cycles = 5;
    for (let cycle = 0; cycle < cycles; cycle++) {
      const url = keel.url;
      // First, retry what a previous kill cut off, with the same Idempotency-Key.
      const retry = pending;
      pending = [];
      for (const r of retry) {
        if ((await post(url, apiKey, r)) === 'acked') r.uids.forEach((u) => acked.add(u));
        else pending.push(r);
      }
      let stop = false;
      const senders = Array.from({ length: 4 }, async () => {
        while (!stop) {
          const r = makeReq();
          const outcome = await post(url, apiKey, r);
          if (outcome === 'acked') r.uids.forEach((u) => acked.add(u));
          else pending.push(r);
          if (outcome === 'failed') return;
        }
      });
      await new Promise((res) => setTimeout(res, 300 + rnd() * 900));
      await keel.stop('SIGKILL');
      stop = true;
      await Promise.all(senders);
      keel = await spawnKeel({ dataDir, adminKey });
    }
    for (const r of pending) {
      expect(await post(keel.url, apiKey, r)).toBe('acked');
      r.uids.forEach((u) => acked.add(u));
    }

    const seen = new Map<string, number>();
    let cursor: string | undefined;
    for (;;) {
      const res = await request(`${keel.url}/v1/events?limit=10000${cursor ? `&cursor=${cursor}` : ''}`, { headers: { authorization: `Bearer ${apiKey}` } });
      const page = (await res.body.json()) as { events: { uid: string }[]; cursor: string; has_more: boolean };
      for (const e of page.events) seen.set(e.uid, (seen.get(e.uid) ?? 0) + 1);
      cursor = page.cursor;
      if (!page.has_more) break;
    }
    expect(acked.size).toBeGreaterThan(1000);
    const missing = [...acked].filter((u) => !seen.has(u));
    const duplicated = [...seen].filter(([, n]) => n > 1);
    expect(missing).toEqual([]);
    expect(duplicated).toEqual([]);
    // Every request was eventually acknowledged, so exactly what was sent is stored.
    expect(seen.size).toBe(everSent.size);
  }, 180_000);
});

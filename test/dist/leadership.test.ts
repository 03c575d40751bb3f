/**
 * Leader-only work on PostgreSQL advisory locks: one holder at a time, a standby takes over when
 * the leader stops or loses its connection, a deposed leader's writes are fenced, and two clusters
 * in two schemas of one database do not share locks.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresLeadership } from '../../src/cluster/leadership.js';
import type { LeaderLease } from '../../src/module/context.js';
import { openPostgresStore, type Store } from '../../src/store/store.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { PG_URL, dropSchema, randomSchema } from '../helpers/stores.js';

const logger = createLogger('silent');
let schema: string;
let store: Store;
const started: PostgresLeadership[] = [];

function leadership(holder: string, s: Store = store): PostgresLeadership {
  const l = new PostgresLeadership({ handle: s.postgres!, holder, logger, pollMs: 150, leaseMs: 1_000, graceMs: 300 });
  started.push(l);
  return l;
}

/** A leader loop that records which holder is working, like the real ones (evaluator, retention). */
function work(log: { holder: string; at: number }[], leases: LeaderLease[]) {
  return async (lease: LeaderLease) => {
    leases.push(lease);
    while (!lease.signal.aborted) {
      log.push({ holder: lease.holder, at: Date.now() });
      await new Promise((r) => setTimeout(r, 20));
    }
  };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<number> {
  const start = Date.now();
  while (!(await ok())) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}

beforeAll(async () => {
  schema = randomSchema('keel_lead');
  store = await openPostgresStore(PG_URL, { schema, poolSize: 4 });
});
afterAll(async () => {
  for (const l of started) await l.stop();
  await store?.close();
  await dropSchema(schema);
});

describe('PostgreSQL leadership', () => {
  it('runs the work on one holder; a standby takes over when the leader stops', async () => {
    const beats: { holder: string; at: number }[] = [];
    const leases: LeaderLease[] = [];
    const a = leadership('a');
    const b = leadership('b');
    a.run('evaluator', work(beats, leases));
    await until('a leads', () => a.held().includes('evaluator'));
    b.run('evaluator', work(beats, leases));
    await until('work started', () => beats.length > 5);
    await new Promise((r) => setTimeout(r, 500));
    expect(b.held()).toEqual([]);
    expect(new Set(beats.map((x) => x.holder))).toEqual(new Set(['a']));
    const stoppedAt = Date.now();
    await a.stop();
    await until('b takes over', () => beats.some((x) => x.holder === 'b'));
    const firstB = beats.find((x) => x.holder === 'b')!.at;
    const lastA = Math.max(...beats.filter((x) => x.holder === 'a').map((x) => x.at));
    expect(lastA).toBeLessThan(firstB);
    expect(firstB - stoppedAt).toBeLessThan(10_000);
    const tenures = await store.db.selectFrom('leader_tenures').selectAll().where('name', '=', 'evaluator').orderBy('started_at').execute();
    expect(tenures.map((t) => t.holder)).toEqual(['a', 'b']);
    expect(Number(tenures[0]!.ended_at)).toBeLessThanOrEqual(Number(tenures[1]!.started_at));
  });

  it('aborts the work when the lock connection dies, fences its writes, and starts a new tenure after it', async () => {
    const beats: { holder: string; at: number }[] = [];
    const leases: LeaderLease[] = [];
    const c = leadership('c');
    c.run('escalation', work(beats, leases));
    await until('c works', () => beats.some((x) => x.holder === 'c'));
    const d = leadership('d');
    d.run('escalation', work(beats, leases));
    const cLease = leases.find((l) => l.holder === 'c')!;
    await store.db.transaction().execute((trx) => cLease.assertHeld(trx));
    // Kill c's lock connection from the server side, as a network cut or a restart would.
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const r = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'keel-leader c'");
      expect(r.rowCount).toBe(1);
    } finally {
      await admin.end();
    }
    await until('c aborted', () => cLease.signal.aborted);
    await expect(store.db.transaction().execute((trx) => cLease.assertHeld(trx))).rejects.toMatchObject({ code: 'unavailable' });
    // A new tenure starts (d's, or c's again after it reconnects), and only after the old one's work stopped.
    await until('a new tenure', () => leases.length >= 2);
    const next = leases[1]!;
    const startedAt = Date.now();
    await until('the new leader works', () => beats.some((x) => x.at >= startedAt && x.holder === next.holder));
    await store.db.transaction().execute((trx) => next.assertHeld(trx));
    expect(c.held().length + d.held().length).toBe(1);
    const tenures = await store.db.selectFrom('leader_tenures').selectAll().where('name', '=', 'escalation').orderBy('started_at').execute();
    expect(tenures.length).toBe(2);
    expect(Number(tenures[0]!.beat_at)).toBeLessThanOrEqual(Number(tenures[1]!.started_at));
  });

  it('ends a tenure whose renewal hangs on a connection that stopped answering, and leads again on a new connection', async () => {
    // A TCP relay to PostgreSQL that can stop relaying while keeping the sockets open: what a
    // network partition or a frozen server looks like from the client.
    const target = new URL(PG_URL);
    let frozen = false;
    const sockets: Socket[] = [];
    const relay: Server = createServer((client) => {
      const server = connect(Number(target.port || 5432), target.hostname);
      sockets.push(client, server);
      client.on('data', (d) => !frozen && server.write(d));
      server.on('data', (d) => !frozen && client.write(d));
      client.on('error', () => server.destroy());
      server.on('error', () => client.destroy());
      client.on('close', () => server.destroy());
      server.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as { port: number }).port;
    const relayed = new URL(PG_URL);
    relayed.hostname = '127.0.0.1';
    relayed.port = String(port);
    const handle = { ...store.postgres!, clientConfig: { ...store.postgres!.clientConfig, connectionString: relayed.toString() } };
    const l = new PostgresLeadership({ handle, holder: 'frozen', logger, pollMs: 150, leaseMs: 1_000, graceMs: 300 });
    started.push(l);
    const leases: LeaderLease[] = [];
    l.run('frozen-work', work([], leases));
    try {
      await until('frozen leads', () => leases.length === 1);
      frozen = true;
      // The renewal now waits forever on the open socket; the tenure still ends (it used to run on,
      // its lease gone, for as long as the connection hung) ...
      await until('the tenure ended', () => leases[0]!.signal.aborted);
      expect(l.held()).toEqual([]);
      // ... and once PostgreSQL answers again, the next round leads on a new connection.
      frozen = false;
      await until('a new tenure', () => leases.length === 2 && !leases[1]!.signal.aborted);
      await store.db.transaction().execute((trx) => leases[1]!.assertHeld(trx));
    } finally {
      await l.stop();
      for (const s of sockets) s.destroy();
      await new Promise((r) => relay.close(r));
    }
  });

  it('keeps clusters in different schemas apart', async () => {
    const otherSchema = randomSchema('keel_lead');
    const other = await openPostgresStore(PG_URL, { schema: otherSchema, poolSize: 2 });
    try {
      const here = leadership('here');
      const there = leadership('there', other);
      const beats: { holder: string; at: number }[] = [];
      here.run('retention', work(beats, []));
      there.run('retention', work(beats, []));
      await until('both lead their own cluster', () => here.held().length === 1 && there.held().length === 1);
    } finally {
      for (const l of started.splice(-1)) await l.stop();
      await other.close();
      await dropSchema(otherSchema);
    }
  });
});

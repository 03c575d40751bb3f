/** The distributed mode's pure rules, with explicit inputs: subjects, chunks, doctor checks, retention, roles. */
import { describe, expect, it } from 'vitest';
import { doctorChecks, replicaChecks, versionAtLeast, type DoctorFacts, type NatsFacts } from '../../src/cluster/doctor-checks.js';
import { purgeFloor } from '../../src/cluster/log-retention.js';
import { balancePlan, fairShare } from '../../src/log/jetstream/partition-balance.js';
import { foldUsage, minuteOf } from '../../src/capacity/usage-fold.js';
import { splitBatch } from '../../src/log/jetstream/chunks.js';
import { streamQuorumProblem } from '../../src/log/jetstream/stream-health.js';
import { observe } from '../../src/processing/progress-watchdog.js';
import type { StreamInfo } from '@nats-io/jetstream';
import { redactNatsUrl } from '../../src/log/jetstream/connection.js';
import { consumerName, eventSubject, parseConsumerName, parseSubject, partitionFilter, partitionOf, tenantFilter } from '../../src/log/jetstream/subjects.js';
import { isConnectionError, redactUrl } from '../../src/store/postgres.js';
import { parseRoles, roleLabel } from '../../src/runtime/roles.js';

const scheme = { prefix: 'keel.events', partitions: 8 };

describe('subjects', () => {
  it('maps partitions and tenants onto subjects and back', () => {
    expect(eventSubject(scheme, 3, 'acme')).toBe('keel.events.3.acme');
    expect(partitionFilter(scheme, 3)).toBe('keel.events.3.>');
    expect(tenantFilter(scheme, 'acme')).toBe('keel.events.*.acme');
    expect(parseSubject(scheme, 'keel.events.3.acme')).toEqual({ partition: 3, tenant: 'acme' });
    expect(parseSubject(scheme, 'other.3.acme')).toBeUndefined();
    expect(parseSubject(scheme, 'keel.events.x.acme')).toBeUndefined();
    expect(consumerName('slo.aggregator', 2)).toBe('slo_aggregator_p2');
    expect(parseConsumerName('usage_p12')).toEqual({ processor: 'usage', partition: 12 });
  });

  it('spreads one tenant over every partition, stably per batch id', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(partitionOf('acme', `batch-${i}`, 8));
    expect(seen.size).toBe(8);
    expect(partitionOf('acme', 'batch-7', 8)).toBe(partitionOf('acme', 'batch-7', 8));
    expect(partitionOf('acme', 'x', 1)).toBe(0);
  });
});

describe('splitting batches into messages', () => {
  const data = Buffer.from(['{"a":1}', '{"b":22}', '{"c":333}', '{"d":4444}'].map((l) => `${l}\n`).join(''));

  it('keeps a batch that fits as one message', () => {
    expect(splitBatch(data, 4, 1_000)).toEqual([{ data, count: 4 }]);
  });

  it('cuts at event boundaries, each chunk within the limit, nothing lost', () => {
    const chunks = splitBatch(data, 4, 20);
    expect(chunks.map((c) => Buffer.from(c.data).toString())).toEqual(['{"a":1}\n{"b":22}\n', '{"c":333}\n', '{"d":4444}\n']);
    expect(chunks.map((c) => c.count)).toEqual([2, 1, 1]);
    expect(chunks.every((c) => c.data.byteLength <= 20)).toBe(true);
  });

  it('refuses an event larger than a message', () => {
    expect(() => splitBatch(data, 4, 5)).toThrow(/larger than the largest message/);
  });
});

describe('doctor checks', () => {
  const nats = (over: Partial<NatsFacts> = {}): NatsFacts => ({
    connected: true,
    serverVersion: '2.10.24',
    servers: ['nats://a:4222'],
    streamName: 'KEEL_EVENTS',
    stream: { replicas: 3, storage: 'file', messages: 1, bytes: 1, replicasCurrent: 2 },
    monitor: { syncAlways: true },
    ...over,
  });
  const status = (f: DoctorFacts) => Object.fromEntries(doctorChecks(f).map((c) => [c.name, c.status]));

  it('compares versions numerically', () => {
    expect(versionAtLeast('2.9.10', '2.10.23')).toBe(false);
    expect(versionAtLeast('2.10.23', '2.10.23')).toBe(true);
    expect(versionAtLeast('v2.11.0', '2.10.23')).toBe(true);
    expect(versionAtLeast('2.10.22', '2.10.23')).toBe(false);
  });

  it('passes a production setup', () => {
    const s = status({ mode: 'distributed', nats: nats(), postgres: { reachable: true, fsync: 'on', synchronousCommit: 'on', fullPageWrites: 'on' } });
    expect(Object.values(s).every((x) => x === 'ok')).toBe(true);
  });

  it('warns loudly about old servers, lazy fsync and too few replicas', () => {
    expect(status({ mode: 'distributed', nats: nats({ serverVersion: '2.9.10' }) })).toMatchObject({ 'nats.version': 'warn', 'nats.sync': 'warn' });
    expect(status({ mode: 'distributed', nats: nats({ monitor: { syncAlways: false, syncIntervalNs: 120e9 } }) })['nats.sync']).toBe('warn');
    const noMonitor = nats();
    delete noMonitor.monitor;
    expect(doctorChecks({ mode: 'distributed', nats: noMonitor }).find((c) => c.name === 'nats.sync')!.message).toContain('set nats.monitorUrl');
    expect(status({ mode: 'distributed', nats: nats({ stream: { replicas: 1, storage: 'file', messages: 0, bytes: 0 } }) })['nats.replicas']).toBe('warn');
  });

  it('fails what is broken now and flags missing roles', () => {
    const s = status({
      mode: 'distributed',
      nats: nats({ connected: false, streamProblem: 'stream KEEL_EVENTS does not answer: timeout' }),
      postgres: { reachable: false, error: 'ECONNREFUSED' },
      members: [{ id: 'x', role: 'ingest', host: 'h', pid: 1, url: '', version: '', startedAt: 0, seenAt: 0, live: true }],
    });
    expect(s).toMatchObject({ 'nats.stream': 'fail', 'postgres.reachable': 'fail', 'cluster.worker': 'warn', 'cluster.evaluator': 'warn' });
    expect(status({ mode: 'distributed', postgres: { reachable: true, fsync: 'off', synchronousCommit: 'off', fullPageWrites: 'on' } })['postgres.durability']).toBe('warn');
  });
});

describe('size retention of the distributed log', () => {
  const base = { firstSeq: 1, lastSeq: 100, messages: 100, bytes: 100_000, maxBytes: 60_000 };

  it('purges the oldest messages down to the limit when every consumer is past them', () => {
    expect(purgeFloor({ ...base, consumers: [{ position: 90, pending: true }] })).toBe(41);
    expect(purgeFloor({ ...base, consumers: [{ position: 5, pending: false }] })).toBe(41);
  });

  it('never purges what a consumer has not committed', () => {
    expect(purgeFloor({ ...base, consumers: [{ position: 20, pending: true }, { position: 90, pending: true }] })).toBe(21);
    expect(purgeFloor({ ...base, consumers: [{ position: 0, pending: true }] })).toBeUndefined();
  });

  it('does nothing under the limit or without one', () => {
    expect(purgeFloor({ ...base, maxBytes: 200_000, consumers: [] })).toBeUndefined();
    expect(purgeFloor({ ...base, maxBytes: 0, consumers: [] })).toBeUndefined();
  });
});

describe('usage folding', () => {
  it('counts events and bytes per tenant per minute of arrival, per partition', () => {
    const b = (tenant: string, receivedAt: number, count: number, bytes: number) => ({ partition: 0, position: 1, tenant, receivedAt, count, minTs: 0, maxTs: 0, data: new Uint8Array(bytes) });
    const t0 = Date.parse('2026-05-01T10:00:30Z');
    expect(minuteOf(t0)).toBe(Date.parse('2026-05-01T10:00:00Z'));
    expect(foldUsage([b('a', t0, 3, 30), b('a', t0 + 20_000, 2, 20), b('a', t0 + 40_000, 1, 10), b('b', t0, 5, 50), { ...b('b', t0, 1, 1), partition: 2 }])).toEqual([
      { tenant: 'a', minute: Date.parse('2026-05-01T10:00:00Z'), partition: 0, events: 5, bytes: 50 },
      { tenant: 'a', minute: Date.parse('2026-05-01T10:01:00Z'), partition: 0, events: 1, bytes: 10 },
      { tenant: 'b', minute: Date.parse('2026-05-01T10:00:00Z'), partition: 0, events: 5, bytes: 50 },
      { tenant: 'b', minute: Date.parse('2026-05-01T10:00:00Z'), partition: 2, events: 1, bytes: 1 },
    ]);
  });
});

describe('roles, secrets in URLs, connection errors', () => {
  it('parses roles', () => {
    expect(parseRoles('ingest')).toEqual({ ingest: true, worker: false, evaluator: false, api: false });
    expect(roleLabel(parseRoles('worker,evaluator'))).toBe('worker,evaluator');
    expect(roleLabel(parseRoles('all'))).toBe('all');
    expect(() => parseRoles('ingest,cook')).toThrow(/unknown role "cook"/);
  });

  it('redacts passwords from URLs', () => {
    expect(redactUrl('postgres://keel:s3cret@db:5432/keel?sslmode=require')).toBe('postgres://keel:***@db:5432/keel?sslmode=require');
    expect(redactUrl('postgres://db/keel?password=s3cret')).not.toContain('s3cret');
    expect(redactNatsUrl('nats://u:p@a:4222, tls://t0ken@b:4222')).toBe('nats://***@a:4222,tls://***@b:4222');
  });

  it('tells an unreachable database from a bad query', () => {
    expect(isConnectionError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))).toBe(false);
    expect(isConnectionError(Object.assign(new Error('syntax error'), { code: '42601' }))).toBe(false);
  });
});

describe('sharing partitions among workers', () => {
  const keep = (xs: number[]) => xs;
  it('claims free partitions up to the fair share', () => {
    expect(balancePlan({ mine: [], free: [0, 1, 2, 3, 4, 5, 6, 7], partitions: 8, liveWorkers: 1, shuffle: keep })).toEqual({ claim: [0, 1, 2, 3, 4, 5, 6, 7], release: [] });
    expect(balancePlan({ mine: [0], free: [5, 6, 7], partitions: 8, liveWorkers: 3, shuffle: keep })).toEqual({ claim: [5, 6], release: [] });
    expect(fairShare(8, 3)).toBe(3);
    expect(fairShare(4, 0)).toBe(4);
  });

  it('gives back what it holds above the fair share when workers join', () => {
    expect(balancePlan({ mine: [0, 1, 2, 3, 4, 5, 6, 7], free: [], partitions: 8, liveWorkers: 2 })).toEqual({ claim: [], release: [7, 6, 5, 4] });
    expect(balancePlan({ mine: [2, 3], free: [], partitions: 4, liveWorkers: 2 })).toEqual({ claim: [], release: [] });
  });
});

describe('stream quorum', () => {
  const info = (replicas: number, leader: string | undefined, peers: { current: boolean; offline?: boolean; activeMs: number }[]) =>
    ({
      config: { name: 'S', num_replicas: replicas },
      cluster: { leader, replicas: peers.map((p, i) => ({ name: `n${i}`, current: p.current, offline: p.offline ?? false, active: p.activeMs * 1e6 })) },
    }) as unknown as StreamInfo;

  it('is fine with one replica, or a leader and one current follower of three', () => {
    expect(streamQuorumProblem(info(1, undefined, []))).toBeUndefined();
    expect(streamQuorumProblem(info(3, 'n9', [{ current: true, activeMs: 100 }, { current: false, activeMs: 60_000 }]))).toBeUndefined();
  });

  it('reports a leader whose followers are gone, stale or offline, and a stream without a leader', () => {
    expect(streamQuorumProblem(info(3, 'n9', [{ current: false, activeMs: 100 }, { current: false, activeMs: 100 }]))).toBe(
      'stream S has no quorum: 1 of 3 replicas reachable, 2 needed to store an append',
    );
    expect(streamQuorumProblem(info(3, 'n9', [{ current: true, activeMs: 4_000 }, { current: true, offline: true, activeMs: 10 }]))).toMatch(/no quorum: 1 of 3/);
    expect(streamQuorumProblem(info(5, 'n9', [{ current: true, activeMs: 1 }, { current: false, activeMs: 1 }, { current: false, activeMs: 1 }, { current: false, activeMs: 1 }]))).toMatch(
      /2 of 5 replicas reachable, 3 needed/,
    );
    expect(streamQuorumProblem(info(3, undefined, []))).toMatch(/has no leader/);
  });
});

describe('the progress watchdog', () => {
  it('counts a stall only while the partition is held, has a backlog and does not move', () => {
    const w = { position: 10, since: 0 };
    expect(observe(w, { owned: true, position: 10, logEnd: 50 }, 1_000)).toBe(1_000);
    expect(observe(w, { owned: true, position: 10, logEnd: 60 }, 16_000)).toBe(16_000);
    expect(observe(w, { owned: true, position: 20, logEnd: 60 }, 17_000)).toBe(0); // it moved
    expect(observe(w, { owned: true, position: 20, logEnd: 60 }, 20_000)).toBe(3_000);
    expect(observe(w, { owned: false, position: 20, logEnd: 60 }, 21_000)).toBe(0); // another worker holds it
    expect(observe(w, { owned: true, position: 60, logEnd: 60 }, 40_000)).toBe(0); // caught up
    expect(observe(w, { owned: true, position: 60, logEnd: 60 }, 90_000)).toBe(0);
    expect(observe(w, { owned: true, position: 60, logEnd: 61 }, 91_000)).toBe(1_000);
  });
});

describe('replicas compared by keel doctor', () => {
  const at = (server: string, messages: number, lastSeq = messages) => ({ server, messages, bytes: messages * 100, lastSeq });
  it('is ok when every replica holds the same state, and says nothing for an R1 stream', () => {
    expect(replicaChecks([at('a', 5), at('b', 5), at('c', 5)], 3)).toEqual([
      { name: 'nats.replicas.agree', status: 'ok', message: '3 replicas hold the same stream state (5 messages, last sequence 5)' },
    ]);
    expect(replicaChecks([at('a', 5)], 1)).toEqual([]);
  });

  it('warns on replicas that differ, on a server it cannot read, and on servers not listed', () => {
    const differ = replicaChecks([at('a', 5), at('b', 4, 5), at('c', 5)], 3);
    expect(differ).toHaveLength(1);
    expect(differ[0]).toMatchObject({ status: 'warn', message: expect.stringContaining('b: 4 messages, 400 bytes, last sequence 5') });
    expect(differ[0]!.message).toContain('keel verify counts');
    const unreadable = replicaChecks([at('a', 5), { server: 'b', error: 'connect ECONNREFUSED' }, at('c', 5)], 3);
    expect(unreadable.map((c) => c.status)).toEqual(['warn', 'ok']);
    expect(unreadable[0]!.message).toContain('ECONNREFUSED');
    expect(replicaChecks([at('a', 5)], 3).map((c) => c.status)).toEqual(['warn']);
  });
});

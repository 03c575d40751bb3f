/** What `keel doctor` concludes from the facts it gathered (pure). */
import { describe, expect, it } from 'vitest';
import { doctorChecks, replicaChecks, versionAtLeast, type DoctorFacts, type NatsFacts } from '../../src/cluster/doctor-checks.js';

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

/** When a JetStream stream can still store an append (pure). */
import type { StreamInfo } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { streamQuorumProblem } from '../../src/log/jetstream/stream-health.js';

describe('stream quorum', () => {
  const info = (replicas: number, leader: string | undefined, peers: { current: boolean; offline?: boolean; activeMs: number }[]) =>
    ({
      config: { name: 'S', num_replicas: replicas },
      cluster: { leader, replicas: peers.map((p, i) => ({ name: `n${i}`, current: p.current, offline: p.offline ?? false, active: p.activeMs * 1e6 })) },
    }) as unknown as StreamInfo;

  it('is fine with one replica, or a leader and one current follower of three', () => {
    expect(streamQuorumProblem(info(1, undefined, []))).toBeUndefined();
    expect(
      streamQuorumProblem(
        info(3, 'n9', [
          { current: true, activeMs: 100 },
          { current: false, activeMs: 60_000 },
        ]),
      ),
    ).toBeUndefined();
  });

  it('reports a leader whose followers are gone, stale or offline, and a stream without a leader', () => {
    expect(
      streamQuorumProblem(
        info(3, 'n9', [
          { current: false, activeMs: 100 },
          { current: false, activeMs: 100 },
        ]),
      ),
    ).toBe('stream S has no quorum: 1 of 3 replicas reachable, 2 needed to store an append');
    expect(
      streamQuorumProblem(
        info(3, 'n9', [
          { current: true, activeMs: 4_000 },
          { current: true, offline: true, activeMs: 10 },
        ]),
      ),
    ).toMatch(/no quorum: 1 of 3/);
    expect(
      streamQuorumProblem(
        info(5, 'n9', [
          { current: true, activeMs: 1 },
          { current: false, activeMs: 1 },
          { current: false, activeMs: 1 },
          { current: false, activeMs: 1 },
        ]),
      ),
    ).toMatch(/2 of 5 replicas reachable, 3 needed/);
    expect(streamQuorumProblem(info(3, undefined, []))).toMatch(/has no leader/);
  });
});

/** The benchmark command works end to end (its figures are judged in BENCHMARKS.md, not here). */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('keel bench ingest', () => {
  it('prints one JSON object with the documented keys', async () => {
    const r = await runCli(['bench', 'ingest', '--duration', '1', '--warmup', '0', '--connections', '2', '--batch', '200', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, number>;
    for (const k of ['events_per_s', 'p50_ms', 'p99_ms', 'ceiling_events_per_s', 'ratio']) expect(typeof out[k], k).toBe('number');
    expect(out.events_per_s).toBeGreaterThan(0);
    expect(out.failures).toBe(0);
    // Every acknowledged event was stored.
    expect(out.stored_events).toBeGreaterThanOrEqual(out.acknowledged_events!);
    expect(r.stderr).toContain('ceiling:');
  });
});

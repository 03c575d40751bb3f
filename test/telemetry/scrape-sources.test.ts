/**
 * A metrics source that hangs: every scrape answers within its budget with the source marked
 * stale, only one call of the source is ever in flight, and a scrape leaves nothing behind it
 * (each scrape used to add a reaction to the one never-settling call, kept for ever).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { KeelMetrics } from '../../src/telemetry/metrics.js';

v8.setFlagsFromString('--expose_gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('scrape sources that hang', () => {
  it('call a hanging source once, mark it stale, and keep nothing of a scrape once it answered', async () => {
    const metrics = new KeelMetrics(5);
    let calls = 0;
    metrics.onScrape('stuck', () => {
      calls++;
      return new Promise<void>(() => undefined);
    });
    let firstFailure: WeakRef<Error> | undefined;
    metrics.onSourceFailure = (_source, err) => {
      firstFailure ??= new WeakRef(err);
    };
    for (let i = 0; i < 5; i++) expect(await metrics.render()).toMatch(/^keel_scrape_stale\{source="stuck"\} 1$/m);
    expect(calls).toBe(1);
    expect(firstFailure?.deref()?.message).toContain('took longer than 5 ms');
    // What the first scrape answered with is garbage once it has answered.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 10));
      gc();
    }
    expect(firstFailure!.deref()).toBeUndefined();
  });

  it('a source that recovers is called again and no longer stale', async () => {
    const metrics = new KeelMetrics(50);
    let release: (() => void) | undefined;
    let calls = 0;
    metrics.onScrape('slow', () => {
      calls++;
      return calls === 1 ? new Promise<void>((r) => (release = r)) : undefined;
    });
    expect(await metrics.render()).toMatch(/^keel_scrape_stale\{source="slow"\} 1$/m);
    release!();
    await new Promise((r) => setTimeout(r, 0));
    expect(await metrics.render()).toMatch(/^keel_scrape_stale\{source="slow"\} 0$/m);
    expect(calls).toBe(2);
  });
});

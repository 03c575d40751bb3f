/** `keel bench paging` end to end, small: every alert paged once, and Keel's CPU per alert reported. */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('keel bench paging', () => {
  it('pages every storm alert once and reports the Keel process CPU per alert', async () => {
    const r = await runCli(['bench', 'paging', '--alerts', '40', '--single', '2', '--warmup', '20', '--concurrency', '4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, number>;
    expect(out.pages_received).toBe(40);
    expect(out.warmup_alerts).toBe(20);
    expect(out.duplicate_pages).toBe(0);
    expect(out.failed_requests).toBe(0);
    // Paging 40 alerts costs the Keel process some CPU (Linux /proc accounting), and the figure
    // per alert is the total divided by the alerts.
    expect(out.keel_cpu_ms).toBeGreaterThan(0);
    expect(out.keel_cpu_ms_per_alert).toBeCloseTo(out.keel_cpu_ms! / 40, 1);
    // Where the CPU went: the event loop's thread is part of the Keel process (it settles later,
    // so its per-alert figure cannot exceed the process's); the bench's own sender and receiver
    // cost something; the machine's busy cores are within its cores.
    expect(out.keel_main_thread_cpu_ms_per_alert).toBeGreaterThan(0);
    expect(out.keel_main_thread_cpu_ms_per_alert).toBeLessThanOrEqual(out.keel_cpu_ms_per_alert! + 0.01);
    expect(out.keel_event_loop_busy).toBeGreaterThan(0);
    // The loop's utilisation over the storm, from Keel's own counter: a share of the wall time.
    expect(out.keel_event_loop_utilization).toBeGreaterThan(0);
    expect(out.keel_event_loop_utilization).toBeLessThanOrEqual(1.01);
    expect(out.bench_cpu_ms_per_alert).toBeGreaterThan(0);
    expect(out.machine_cores).toBe(availableParallelism());
    expect(out.machine_busy_cores).toBeGreaterThan(0);
    expect(out.machine_busy_cores).toBeLessThanOrEqual(out.machine_cores! + 0.1);
  }, 120_000);
});

/** `keel bench runbooks` end to end, small: runs/s, the Store's commit ceiling and alert-to-first-step latency. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('keel bench runbooks', () => {
  it('runs every run, starts a run per alert, and reports runs/s, the commit ceiling and the trigger latency', async () => {
    const r = await runCli(['bench', 'runbooks', '--runs', '20', '--alerts', '3', '--concurrency', '4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      runs: number;
      runs_per_s: number;
      commits_per_run: number;
      trigger_to_first_step_ms: { p50: number; p99: number; max: number; samples: number };
      ceiling_commits_per_s: number;
      ceiling_runs_per_s: number;
    };
    expect(Object.keys(out).sort()).toEqual(['ceiling_commits_per_s', 'ceiling_runs_per_s', 'commits_per_run', 'runs', 'runs_per_s', 'trigger_to_first_step_ms']);
    expect(out.runs).toBe(20);
    expect(out.runs_per_s).toBeGreaterThan(0);
    // A run commits its creation, then the start and the result of each of its three steps.
    expect(out.commits_per_run).toBe(7);
    expect(out.ceiling_commits_per_s).toBeGreaterThan(0);
    expect(out.ceiling_runs_per_s).toBeCloseTo(out.ceiling_commits_per_s / 7, 0);
    // Every alert's run reached its first step (the bench fails otherwise), each one measured.
    expect(out.trigger_to_first_step_ms.samples).toBe(3);
    expect(out.trigger_to_first_step_ms.p50).toBeGreaterThan(0);
    expect(out.trigger_to_first_step_ms.p99).toBeGreaterThanOrEqual(out.trigger_to_first_step_ms.p50);
    expect(out.trigger_to_first_step_ms.max).toBeGreaterThanOrEqual(out.trigger_to_first_step_ms.p99);
    // The progress lines go to standard error, standard output is the JSON alone.
    expect(r.stderr).toContain('ceiling: bare SQLite write transactions');
  }, 180_000);
});

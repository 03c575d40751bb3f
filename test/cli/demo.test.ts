/**
 * `keel demo` as a person runs it: the real binary on a fresh data dir, no Keel running. It starts
 * its own Keel, the outage pages someone, and it prints the console's address, a sign-in and what
 * to click; with --exit it then stops the Keel it started. (The console's browser tests drive the
 * same demo in-process against a Keel they start.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const dataDir = mkdtempSync(join(tmpdir(), 'keel-demo-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('keel demo', () => {
  it('starts Keel on a fresh data dir, pages the person on call, and prints the console, a sign-in and what to click', async () => {
    const r = await runCli(['demo', '--data-dir', dataDir, '--outage-after', '2', '--exit', '--timeout', '150']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`starting Keel on ${dataDir}`);
    expect(r.stderr).toContain('OUTAGE: payments in eu-west now fail (503)');
    // The webhook receiver the demo runs got the page, with the console's incident link.
    expect(r.stderr).toMatch(/PAGE → ann: incident\.triggered #\d+ SLO Checkout (availability|latency) is burning its error budget .*\(http:\/\/127\.0\.0\.1:\d+\/incidents\/inc_\w+\?team=demo\)/);
    const consoleLine = /^ {2}Console: {3}(http:\/\/127\.0\.0\.1:(\d+)\/)$/m.exec(r.stdout);
    expect(consoleLine, r.stdout).not.toBeNull();
    const port = consoleLine![2];
    expect(r.stdout).toMatch(/The SLO checkout-availability is burning, its page alert fired, ann was paged and incident #\d+ is open\./);
    expect(r.stdout).toMatch(/^ {2}Sign in: {3}ann@demo\.keel\.test {2}\/ {2}demo-[\w-]{8} {3}\(team demo\)$/m);
    expect(r.stdout).toMatch(new RegExp(`^ {2}Incident: {2}http://127\\.0\\.0\\.1:${port}/incidents/inc_\\w+\\?team=demo$`, 'm'));
    expect(r.stdout).toContain('What to click:');
    expect(r.stdout).toContain('press Acknowledge (escalation stops)');
    expect(r.stdout).toMatch(/Other people: bob@demo\.keel\.test \(responder\) \/ demo-\S+, eve@demo\.keel\.test \(editor\) \/ demo-\S+, vic@demo\.keel\.test \(viewer\) \/ demo-\S+/);
    // --exit: the Keel it started is stopped.
    await expect(fetch(consoleLine![1]!)).rejects.toThrow();
  }, 240_000);
});

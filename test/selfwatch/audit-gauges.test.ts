/**
 * keel_audit_chain_valid pages at 0 (KeelAuditChainBroken), so a process that has not verified the
 * chain (it does not lead audit-verify: api/ingest roles, standbys) must not export it at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeaderLease } from '../../src/module/context.js';
import { selfWatchModule } from '../../src/selfwatch/module.js';
import { KeelMetrics } from '../../src/telemetry/metrics.js';
import { startTestKeel, type TestKeel } from '../helpers/keel.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel();
});
afterAll(async () => t?.close());

describe('selfwatch audit-chain gauges', () => {
  it('exports nothing about the audit chain before this process verified it, then 1', async () => {
    const metrics = new KeelMetrics();
    const lead: ((lease: LeaderLease) => Promise<void>)[] = [];
    const mod = selfWatchModule({ ...t.keel.ctx, metrics, whileLeader: (_name, fn) => void lead.push(fn) });
    await mod.start!();
    const before = await metrics.registry.metrics();
    expect(before).not.toContain('keel_audit_chain_valid');
    expect(before).not.toContain('keel_audit_chain_verified_timestamp_seconds');

    // Now this process leads audit-verify: one verification, then the tenure ends.
    const controller = new AbortController();
    const tenure = lead[0]!({ signal: controller.signal, holder: 'test', assertHeld: async () => undefined });
    const verified = async (): Promise<string> => {
      const text = await metrics.registry.metrics();
      return text.includes('keel_audit_chain_valid') ? text : (await new Promise((r) => setTimeout(r, 20)), verified());
    };
    const after = await verified();
    controller.abort();
    await tenure;
    expect(after).toMatch(/^keel_audit_chain_valid 1$/m);
  });
});

/**
 * The evaluator's fence belongs to one call: `keel slo evaluate` (no fence) running while the
 * leader's loop evaluates must not leave the leader's transactions unfenced.
 */
import { sql, type Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SloEvaluator } from '../../src/slo/evaluator.js';
import { SloMetrics } from '../../src/slo/metrics.js';
import type { Database } from '../../src/store/schema.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { KeelMetrics } from '../../src/telemetry/metrics.js';
import { startTestKeel, type TestKeel } from '../helpers/keel.js';
import { SERVICE, applyYaml, ratioSlo, settled } from './fixtures.js';

let t: TestKeel;

beforeAll(async () => {
  t = await startTestKeel({ slo: { evaluationInterval: '1d' } });
  expect((await applyYaml(t.url, t.adminKey, `${SERVICE}---\n${ratioSlo('checkout')}---\n${ratioSlo('search')}`)).status).toBe(200);
  await settled(t.url, t.adminKey);
});
afterAll(async () => t?.close());

describe('SLO evaluator fencing', () => {
  it('fences every transaction of a fenced evaluation even when an unfenced one runs at the same time', async () => {
    const { ctx } = t.keel;
    const evaluator = new SloEvaluator({ db: ctx.store.db, alerts: ctx.alerts, clock: ctx.clock, logger: createLogger('silent'), metrics: new SloMetrics(new KeelMetrics()), minBadEvents: 10 });
    const fenced: string[] = [];
    const fence = async (_trx: Transaction<Database>) => {
      fenced.push('checked');
    };
    const leader = evaluator.evaluateAll(fence);
    const byHand = evaluator.evaluateAll();
    expect((await byHand).evaluated).toBe(2);
    expect((await leader).evaluated).toBe(2);
    // Both SLOs' states are written in one transaction (up to 100 SLOs per transaction), and it is
    // checked by the leader's fence, not stripped of it by the unfenced call running beside it.
    expect(fenced).toEqual(['checked']);
  });

  it('writes the other SLOs of a group when the state of one SLO cannot be written', async () => {
    const { ctx } = t.keel;
    const evaluator = new SloEvaluator({ db: ctx.store.db, alerts: ctx.alerts, clock: ctx.clock, logger: createLogger('silent'), metrics: new SloMetrics(new KeelMetrics()), minBadEvents: 10 });
    await ctx.store.db.deleteFrom('slo_alert_state').execute();
    // A real write failure for one SLO: the database refuses its alert state.
    await sql`CREATE TRIGGER refuse_checkout BEFORE INSERT ON slo_alert_state WHEN NEW.slo_name = 'checkout' BEGIN SELECT RAISE(ABORT, 'refused for the test'); END`.execute(ctx.store.db);
    try {
      const r = await evaluator.evaluateAll();
      expect(r.evaluated).toBe(1);
      const states = await ctx.store.db.selectFrom('slo_alert_state').select('slo_name').distinct().execute();
      expect(states.map((x) => x.slo_name)).toEqual(['search']);
    } finally {
      await sql`DROP TRIGGER refuse_checkout`.execute(ctx.store.db);
    }
  });
});

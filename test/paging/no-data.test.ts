/**
 * No data is a signal: a paging alert policy also alerts (and pages) when an SLO's events stop
 * arriving; a policy opts out with `alertWhenNoData: false`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { http, ndjson, type TestKeel } from '../helpers/keel.js';
import { applyOk, personWithPolicy, startPagingKeel, startReceiver, waitFor, webhookSecrets, type Receiver } from '../helpers/paging.js';
import { ratioSlo, settled } from '../slo/fixtures.js';

const T0 = Date.parse('2026-06-01T12:00:00Z');
const clock = new FakeClock(T0);
let t: TestKeel;
let rx: Receiver;

const OPTED_OUT = ratioSlo('quiet-ok', {
  extra: `  alertPolicies:
    - kind: AlertPolicy
      metadata: {name: fast-burn}
      spec:
        alertWhenNoData: false
        conditions:
          - kind: AlertCondition
            metadata: {name: fast}
            spec: {severity: page, condition: {kind: burnrate, op: gt, threshold: 14.4, lookbackWindow: 1h}}
`,
});

beforeAll(async () => {
  rx = await startReceiver();
  t = await startPagingKeel({ slo: { evaluationInterval: '1h' } }, { clock });
  await webhookSecrets(t.url, t.adminKey, ['ann']);
  await applyOk(
    t,
    `${personWithPolicy('ann', rx.url)}---
apiVersion: keel/v1
kind: Service
metadata: {name: checkout}
spec: {escalationPolicy: ann}
---
${ratioSlo('checkout-availability')}---
${OPTED_OUT}`,
  );
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

const transitions = async () => (await t.keel.ctx.alerts.transitionsAfter(0, 1000)).filter((x) => x.dedupKey.endsWith('/nodata')).map((x) => `${x.dedupKey} ${x.status}`);
const evaluate = async () => expect((await http(`${t.url}/v1/slo-evaluations`, { method: 'POST', key: t.adminKey })).status).toBe(200);
const send = async (from: number) => {
  const events = Array.from({ length: 100 }, (_, i) => ({ ts: new Date(from + i * 1000).toISOString(), service: 'checkout', status: 200 }));
  expect((await http(`${t.url}/v1/events`, { key: t.adminKey, body: ndjson(events), headers: { 'content-type': 'application/x-ndjson' } })).status).toBe(202);
  await settled(t.url, t.adminKey);
};

describe('an SLO whose events stop arriving', () => {
  it('raises a no-data page alert once its last hour has no events, and resolves when they return', async () => {
    await send(T0 - 200_000);
    await evaluate();
    expect(await transitions()).toEqual([]);
    // Two hours without an event: the default policy's shortest paging window (1 h) is empty.
    clock.advance(2 * 3_600_000);
    await evaluate();
    expect(await transitions()).toEqual(['slo/checkout-availability/default/nodata firing']);
    const alert = ((await http(`${t.url}/v1/paging/alerts?status=firing`, { key: t.adminKey })).body.alerts as any[]).find((a) => a.dedup_key === 'slo/checkout-availability/default/nodata');
    expect(alert).toMatchObject({
      severity: 'page',
      summary: 'SLO checkout-availability: no events in the last 1h (its events stopped arriving; policy default)',
      labels: { alertname: 'nodata', slo: 'checkout-availability' },
    });
    const page = await waitFor('the no-data page', () => rx.requests.find((r) => r.path === '/ann' && r.body.alerts?.some((a: any) => a.summary.includes('no events in the last 1h'))));
    expect(page.body.incident.service).toBe('checkout');
    // The policy with alertWhenNoData: false opted out.
    expect((await transitions()).some((x) => x.startsWith('slo/quiet-ok/'))).toBe(false);
    await send(clock.now() - 100_000);
    await evaluate();
    expect(await transitions()).toEqual(['slo/checkout-availability/default/nodata firing', 'slo/checkout-availability/default/nodata resolved']);
  });

  it('keeps firing when the silence outlasts the SLO window (no "events arrive again" while none do)', async () => {
    // Events stop again: the no-data alert fires.
    clock.advance(2 * 3_600_000);
    await evaluate();
    expect(await transitions()).toEqual(['slo/checkout-availability/default/nodata firing', 'slo/checkout-availability/default/nodata resolved', 'slo/checkout-availability/default/nodata firing']);
    // 31 days later the 30 d SLO window holds no event at all: the service is still silent.
    clock.advance(31 * 24 * 3_600_000);
    await evaluate();
    expect(await transitions()).toEqual(['slo/checkout-availability/default/nodata firing', 'slo/checkout-availability/default/nodata resolved', 'slo/checkout-availability/default/nodata firing']);
  });

  it('is named by its own dedup key in the SLO’s answer, and a deleted SLO resolves it (not the page alert)', async () => {
    // Still firing from the previous test. Its stored state has the page severity; it used to be
    // listed, and resolved on deletion, under the page alert's dedup key.
    const status = (await http(`${t.url}/v1/slos/checkout-availability`, { key: t.adminKey })).body as { alerts: { severity: string; status: string; dedupKey: string }[] };
    expect(status.alerts.filter((a) => a.status === 'firing').map((a) => `${a.dedupKey} ${a.severity}`)).toEqual(['slo/checkout-availability/default/nodata page']);
    expect((await http(`${t.url}/v1/slos/checkout-availability`, { method: 'DELETE', key: t.adminKey })).status).toBe(200);
    await evaluate();
    const all = (await t.keel.ctx.alerts.transitionsAfter(0, 1000)).filter((x) => x.dedupKey.startsWith('slo/checkout-availability/')).map((x) => `${x.dedupKey} ${x.status}`);
    expect(all).toEqual([
      'slo/checkout-availability/default/nodata firing',
      'slo/checkout-availability/default/nodata resolved',
      'slo/checkout-availability/default/nodata firing',
      'slo/checkout-availability/default/nodata resolved',
    ]);
    const firing = ((await http(`${t.url}/v1/paging/alerts?status=firing`, { key: t.adminKey })).body.alerts as { dedup_key: string }[]).map((a) => a.dedup_key);
    expect(firing.filter((k) => k.startsWith('slo/checkout-availability/'))).toEqual([]);
  });
});

/**
 * What the capacity sampler gives out beyond the report rows the other tests check: the
 * seconds-to-exhaustion gauge and the forecast alert of a limit planted to run out in two days (and
 * a runbook that alert starts, as any alert would),
 * peaks over the last hour, day and week that differ, and the `log.retention` limit (the bytes the
 * wanted retention would take at the bytes per hour kept now), with a batch received two hours ago.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapacityService } from '../../src/capacity/capacity-service.js';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { applyOk, startReceiver, waitFor, type Receiver } from '../helpers/paging.js';

const H = 3_600_000;
const D = 24 * H;
let t: TestKeel;
let capacity: CapacityService;
let receiver: Receiver;

beforeAll(async () => {
  t = await startTestKeel({ capacity: { sampleInterval: '200ms' }, runbooks: { pollInterval: '50ms' } });
  capacity = new CapacityService(t.keel.store, t.keel.ctx.config);
  // What the runbook below calls when the forecast alert starts it.
  receiver = await startReceiver();
  // The Limits whose samples the tests plant (a limit is reported while its definition exists).
  const limit = (name: string) => `apiVersion: keel/v1
kind: Limit
metadata: {name: ${name}}
spec:
  filter: 'metric == "${name}"'
  usage: {field: used, aggregate: max}
  capacity: 100
`;
  await applyOk(t, [limit('disk'), limit('peaks')].join('---\n'));
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

describe('the capacity sampler', () => {
  it('exports the seconds to exhaustion and fires the forecast alert of a limit running out in two days, which starts a runbook', async () => {
    await applyOk(
      t,
      `apiVersion: keel/v1
kind: Runbook
metadata: {name: grow-disk}
spec:
  parameters:
    limit: {type: string, required: true}
  triggers:
    alerts:
      - labels: {condition: forecast}
        params: {limit: "{{ alert.labels.limit }}"}
  steps:
    - name: grow
      http: {url: "${receiver.url}/grow/{{ params.limit }}"}
`,
    );
    // 50 → 80 of 100 over three days (10 a day): 100 is reached two days after the last sample.
    const plantedAt = Date.now();
    for (let h = 72; h >= 0; h--) await capacity.record(plantedAt - h * H, [{ id: 'limit.default.disk', tenant: 'default', usage: 80 - (10 * h) / 24, capacity: 100 }]);
    const seconds = await waitFor('the seconds-to-exhaustion gauge', async () => {
      const m = /keel_capacity_seconds_to_exhaustion\{limit="limit\.default\.disk",tenant="default"\} (\d+)/.exec(String((await http(`${t.url}/metrics`, { key: t.adminKey })).body));
      return m ? Number(m[1]) : undefined;
    });
    // Two days less the time since planting, within an hour (the console test's tolerance).
    const truth = (plantedAt + 2 * D - Date.now()) / 1000;
    expect(Math.abs(seconds - truth)).toBeLessThan(3600);
    const alert = await waitFor('the forecast alert', async () => {
      const alerts: any[] = (await http(`${t.url}/v1/paging/alerts?limit=200`, { key: t.adminKey })).body.alerts;
      return alerts.find((a) => a.dedup_key === 'capacity:limit.default.disk:forecast' && a.status === 'firing');
    });
    expect(alert).toMatchObject({ source: 'capacity', severity: 'warning', labels: { limit: 'limit.default.disk', condition: 'forecast' } });
    // 80 % now: the utilisation alert fires too, as a warning (critical from 95 %).
    const alerts: any[] = (await http(`${t.url}/v1/paging/alerts?limit=200`, { key: t.adminKey })).body.alerts;
    expect(alerts.find((a) => a.dedup_key === 'capacity:limit.default.disk:utilisation')).toMatchObject({ status: 'firing', severity: 'warning' });
    // The forecast alert starts the runbook like any alert (the utilisation alert does not match).
    const run = await waitFor('the runbook run', async () => {
      const r = await http(`${t.url}/v1/runbooks/runs?runbook=grow-disk`, { key: t.adminKey });
      return r.body.runs.find((x: { status: string }) => x.status === 'succeeded');
    });
    expect(run).toMatchObject({ trigger: 'alert', actor: 'alert:capacity/capacity:limit.default.disk:forecast', params: { limit: 'limit.default.disk' } });
    expect(receiver.requests.map((r) => r.path)).toEqual(['/grow/limit.default.disk']);
  });

  it('reports the peaks of the last hour, day and week, each over its own window', async () => {
    const now = Date.now();
    const samples: [number, number][] = [
      [9 * D, 900],
      [5 * D, 500],
      [12 * H, 300],
      [2 * H, 250],
      [H / 2, 200],
      [0, 150],
    ];
    for (let h = 10 * 24; h >= 0; h--) if (!samples.some(([ago]) => ago === h * H)) samples.push([h * H, 100]);
    for (const [ago, usage] of samples.sort((a, b) => b[0] - a[0])) await capacity.record(now - ago, [{ id: 'limit.default.peaks', tenant: 'default', usage, capacity: 1000 }]);
    const r = await http(`${t.url}/v1/capacity/limits/limit.default.peaks`, { key: t.adminKey });
    expect(r.status).toBe(200);
    // Hour: 200 (the 250 two hours ago is outside); day: 300 (not the 500 of five days ago); week: 500 (not nine days' 900).
    expect(r.body).toMatchObject({ usage: 150, utilisation: 0.15, peak: { h1: 200, d1: 300, d7: 500 } });
  });

  it('tracks the bytes the wanted retention would take, from the oldest batch kept', async () => {
    const data = new TextEncoder().encode(`${JSON.stringify({ kind: 'old', pad: 'x'.repeat(200) })}\n`);
    const receivedAt = Date.now() - 2 * H;
    await t.keel.ctx.log.append({ tenant: 'default', data, count: 1, minTs: receivedAt, maxTs: receivedAt, receivedAt });
    const limit = await waitFor('the log.retention limit', async () => {
      const r = await http(`${t.url}/v1/capacity/limits/log.retention`, { key: t.adminKey });
      return r.status === 200 ? r.body : undefined;
    });
    // One batch of B bytes kept for two hours (and the seconds since): the wanted 7 days would take
    // B × 7 d / age, against log.retention.maxBytes (50 GiB by default).
    const b = data.byteLength;
    expect(limit.capacity).toBe(50 * 1024 ** 3);
    expect(limit.usage).toBeLessThanOrEqual((b * 7 * D) / (2 * H));
    expect(limit.usage).toBeGreaterThanOrEqual((b * 7 * D) / (Date.now() - receivedAt));
    expect(limit.usage).toBeGreaterThan(80 * b);
  });
});

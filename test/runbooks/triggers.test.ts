/** Automatic runs: alert matchers with a cooldown, a concurrency key and a circuit breaker; the error-budget guard; cron schedules. */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { waitFor } from '../helpers/paging.js';
import { CapacityService } from '../../src/capacity/capacity-service.js';

let t: TestKeel;
let receiver: Server;
let base = '';
const hits: string[] = [];

beforeAll(async () => {
  t = await startTestKeel({ runbooks: { pollInterval: '50ms' } });
  receiver = createServer((req, res) => {
    hits.push(req.url!);
    req.resume();
    res.end('{}');
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const a = receiver.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});
afterAll(async () => {
  await t?.close();
  await new Promise((r) => receiver?.close(r));
});

async function apply(yaml: string) {
  const r = await http(`${t.url}/v1/definitions/apply`, { key: t.adminKey, json: { sources: [{ file: 'rb.yaml', content: yaml }] } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

const fire = (dedupKey: string, labels: Record<string, string>) =>
  t.keel.ctx.alerts.signal({ tenant: 'default', dedupKey, source: 'alertmanager', status: 'firing', severity: 'critical', summary: `disk filling on ${labels.host}`, labels });

async function skipped(reason: string): Promise<{ target: string; after: { reason: string; alert?: string } }[]> {
  const r = await http(`${t.url}/v1/audit?action=runbooks.trigger.skipped&limit=1000`, { key: t.adminKey });
  return r.body.entries.filter((e: { after: { reason: string } }) => e.after.reason === reason);
}

describe('runbook triggers', () => {
  it('starts a run for a matching alert, once per concurrency key within the cooldown, and pages instead when the breaker opens', async () => {
    await apply(`apiVersion: keel/v1
kind: Runbook
metadata: {name: on-disk}
spec:
  parameters:
    host: {type: string, required: true}
  triggers:
    alerts:
      - labels: {alertname: DiskFilling}
        params: {host: "{{ alert.labels.host }}"}
    concurrencyKey: "{{ alert.labels.host }}"
    cooldown: 1h
    maxRunsPerHour: 2
  steps:
    - name: clean
      http: {url: "${base}/clean/{{ params.host }}"}
`);
    await fire('disk/db-1', { alertname: 'DiskFilling', host: 'db-1' });
    await fire('cpu/db-1', { alertname: 'CpuHigh', host: 'db-1' });
    const first = await waitFor('a run for db-1', async () => {
      const r = await http(`${t.url}/v1/runbooks/runs?runbook=on-disk`, { key: t.adminKey });
      return r.body.runs.find((x: { status: string }) => x.status === 'succeeded');
    });
    expect(first).toMatchObject({ trigger: 'alert', actor: 'alert:alertmanager/disk/db-1', params: { host: 'db-1' } });
    expect(hits).toEqual(['/clean/db-1']);

    // Same host again (another alert): within the cooldown for key db-1, skipped and audited.
    await fire('disk/db-1-b', { alertname: 'DiskFilling', host: 'db-1' });
    await waitFor('the cooldown skip', async () => (await skipped('cooldown')).length === 1);
    // Another host: its own key, runs (the second automatic run this hour).
    await fire('disk/db-2', { alertname: 'DiskFilling', host: 'db-2' });
    await waitFor('the db-2 run', () => hits.includes('/clean/db-2'));
    // A third host: the breaker (2 per hour) is open: no run, a page instead.
    await fire('disk/db-3', { alertname: 'DiskFilling', host: 'db-3' });
    const breaker = await waitFor('the breaker', async () => (await skipped('breaker'))[0]);
    expect(breaker).toMatchObject({ target: 'runbook/on-disk', after: { alert: 'disk/db-3' } });
    const alert = await t.keel.store.db.selectFrom('alerts').selectAll().where('dedup_key', '=', 'runbook-breaker/on-disk').executeTakeFirstOrThrow();
    expect(alert).toMatchObject({ status: 'firing', source: 'runbooks', severity: 'page' });
    const runs = (await http(`${t.url}/v1/runbooks/runs?runbook=on-disk`, { key: t.adminKey })).body.runs;
    expect(runs.map((r: { params: { host: string } }) => r.params.host).sort()).toEqual(['db-1', 'db-2']);
    expect(hits.filter((h) => h.startsWith('/clean/'))).toEqual(['/clean/db-1', '/clean/db-2']);
  });

  it('skips a new run while one for the same key is still active', async () => {
    await apply(`apiVersion: keel/v1
kind: Runbook
metadata: {name: one-at-a-time}
spec:
  triggers:
    alerts:
      - labels: {alertname: LagHigh}
    cooldown: 0s
  steps:
    - name: ok
      approval: {role: admin}
      timeout: 1h
`);
    await fire('lag/1', { alertname: 'LagHigh', host: 'x' });
    await waitFor('the first run', async () => (await http(`${t.url}/v1/runbooks/runs?runbook=one-at-a-time`, { key: t.adminKey })).body.runs.length === 1);
    await fire('lag/2', { alertname: 'LagHigh', host: 'y' });
    await waitFor('the concurrency skip', async () => (await skipped('concurrent')).length === 1);
    expect((await http(`${t.url}/v1/runbooks/runs?runbook=one-at-a-time`, { key: t.adminKey })).body.runs).toHaveLength(1);
  });

  it('refuses a run while the guard SLO has too little error budget left, by hand (409) and from an alert (an audited skip)', async () => {
    await apply(`apiVersion: openslo/v1
kind: Service
metadata: {name: checkout}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-availability}
spec:
  service: checkout
  indicator:
    metadata: {name: checkout-requests}
    spec:
      ratioMetric:
        counter: true
        total: {metricSource: {type: keel, spec: {query: 'service == "checkout"'}}}
        good: {metricSource: {type: keel, spec: {query: 'status < 500'}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: availability, target: 0.9}]
---
apiVersion: keel/v1
kind: Runbook
metadata: {name: risky}
spec:
  guard: {slo: checkout-availability, minBudgetRemainingPercent: 100}
  triggers:
    alerts:
      - labels: {alertname: RiskyThing}
  steps:
    - name: call
      http: {url: "${base}/risky"}
---
apiVersion: keel/v1
kind: Runbook
metadata: {name: careful}
spec:
  guard: {slo: checkout-availability, minBudgetRemainingPercent: 50}
  steps:
    - name: call
      http: {url: "${base}/careful"}
`);
    const refused = await http(`${t.url}/v1/runbooks/risky/runs`, { key: t.adminKey, json: {} });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toBe("runbook risky needs more than 100% of SLO checkout-availability's error budget left; 100% is left");
    const ok = await http(`${t.url}/v1/runbooks/careful/runs`, { key: t.adminKey, json: {} });
    expect(ok.status).toBe(201);
    await fire('risky/r-1', { alertname: 'RiskyThing', host: 'r-1' });
    const guarded = await waitFor('the guard to skip the alert', async () => (await skipped('guard')).find((e) => e.target === 'runbook/risky'));
    expect(guarded.after).toEqual({ reason: 'guard', message: "runbook risky needs more than 100% of SLO checkout-availability's error budget left; 100% is left", alert: 'risky/r-1' });
    expect((await http(`${t.url}/v1/runbooks/runs?runbook=risky`, { key: t.adminKey })).body.runs).toEqual([]);
    expect(hits).not.toContain('/risky');
  });

  it('waits until a live SLO figure holds, and verifies the outcome by it', async () => {
    await apply(`apiVersion: keel/v1
kind: Runbook
metadata: {name: judged}
spec:
  steps:
    - name: budget-ok
      wait: {until: 'slo["checkout-availability"].budget_remaining > 50', every: 100ms}
      timeout: 1m
    - name: call
      http: {url: "${base}/judged"}
  verify: {until: 'slo["checkout-availability"].budget_remaining >= 100 && slo["checkout-availability"].burn_rate < 1', timeout: 1m, every: 100ms}
---
apiVersion: keel/v1
kind: Runbook
metadata: {name: never}
spec:
  steps:
    - name: hopeless
      wait: {until: 'slo["checkout-availability"].budget_remaining > 100', every: 100ms}
      timeout: 300ms
`);
    const run = await http(`${t.url}/v1/runbooks/judged/runs`, { key: t.adminKey, json: {} });
    const done = await waitFor('the judged run', async () => {
      const r = await http(`${t.url}/v1/runbooks/runs/${run.body.id}`, { key: t.adminKey });
      return ['succeeded', 'failed'].includes(r.body.status) ? r.body : undefined;
    });
    expect(done).toMatchObject({ status: 'succeeded', outcome: 'verified' });
    const passed = done.journal.find((j: { event: string }) => j.event === 'verify.passed');
    expect(passed.data.figures.slo['checkout-availability']).toMatchObject({ budget_remaining: 100, burn_rate: 0 });
    const never = await http(`${t.url}/v1/runbooks/never/runs`, { key: t.adminKey, json: {} });
    const failed = await waitFor('the hopeless run', async () => {
      const r = await http(`${t.url}/v1/runbooks/runs/${never.body.id}`, { key: t.adminKey });
      return r.body.status === 'failed' ? r.body : undefined;
    });
    expect(failed.error).toBe('step hopeless: the condition did not hold in time');
  });

  it('waits until a limit’s utilisation holds, and gives up after the timeout', async () => {
    const capacity = new CapacityService(t.keel.ctx.store, t.keel.ctx.config);
    const sample = (usage: number) => capacity.record(Date.now(), [{ id: 'limit.default.queue', tenant: 'default', usage, capacity: 200 }]);
    await sample(180);
    await apply(`apiVersion: keel/v1
kind: Runbook
metadata: {name: drain}
spec:
  steps:
    - name: drained
      wait: {until: 'limits["limit.default.queue"].utilisation < 0.5', every: 100ms}
      timeout: 1m
  verify: {until: 'limits["limit.default.queue"].usage <= 60 && limits["limit.default.queue"].capacity == 200.0', timeout: 1m, every: 100ms}
---
apiVersion: keel/v1
kind: Runbook
metadata: {name: drain-fast}
spec:
  steps:
    - name: drained
      wait: {until: 'limits["limit.default.queue"].utilisation < 0.1', every: 100ms}
      timeout: 300ms
`);
    const run = await http(`${t.url}/v1/runbooks/drain/runs`, { key: t.adminKey, json: {} });
    const fast = await http(`${t.url}/v1/runbooks/drain-fast/runs`, { key: t.adminKey, json: {} });
    const failed = await waitFor('the impatient run', async () => {
      const r = await http(`${t.url}/v1/runbooks/runs/${fast.body.id}`, { key: t.adminKey });
      return r.body.status === 'failed' ? r.body : undefined;
    });
    expect(failed.error).toBe('step drained: the condition did not hold in time');
    // 90 % used: still waiting.
    const meanwhile = (await http(`${t.url}/v1/runbooks/runs/${run.body.id}`, { key: t.adminKey })).body;
    expect([meanwhile.status, meanwhile.steps[0].status]).toEqual(['running', 'running']);
    await new Promise((r) => setTimeout(r, 5));
    await sample(60);
    const done = await waitFor('the drain run', async () => {
      const r = await http(`${t.url}/v1/runbooks/runs/${run.body.id}`, { key: t.adminKey });
      return ['succeeded', 'failed'].includes(r.body.status) ? r.body : undefined;
    });
    expect(done).toMatchObject({ status: 'succeeded', outcome: 'verified' });
    const passed = done.journal.find((j: { event: string }) => j.event === 'verify.passed');
    expect(passed.data.figures).toEqual({ slo: {}, limits: { 'limit.default.queue': { utilisation: 0.3, usage: 60, capacity: 200 } } });
  });

  it('fires a cron schedule, in its time zone, once per scheduled time', async () => {
    await apply(`apiVersion: keel/v1
kind: Runbook
metadata: {name: nightly}
spec:
  parameters:
    mode: {type: enum, values: [check, fix], default: fix}
  triggers:
    schedule: {cron: "* * * * * *", timeZone: Europe/Berlin, params: {mode: check}}
  steps:
    - name: call
      http: {url: "${base}/nightly/{{ params.mode }}"}
`);
    const run = await waitFor('a scheduled run', async () => (await http(`${t.url}/v1/runbooks/runs?runbook=nightly`, { key: t.adminKey })).body.runs[0]);
    expect(run).toMatchObject({ trigger: 'schedule', actor: 'schedule', params: { mode: 'check' } });
    const bad = await http(`${t.url}/v1/definitions/plan`, {
      key: t.adminKey,
      json: {
        sources: [
          {
            file: 'x.yaml',
            content: 'apiVersion: keel/v1\nkind: Runbook\nmetadata: {name: x}\nspec:\n  triggers: {schedule: {cron: "0 3 * *", timeZone: Mars/Base}}\n  steps: [{name: a, wait: {duration: 1s}}]\n',
          },
        ],
      },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('unknown time zone \\"Mars/Base\\"');
    // Stop it firing for the rest of the suite.
    await http(`${t.url}/v1/definitions/Runbook/nightly`, { method: 'DELETE', key: t.adminKey });
  });
});

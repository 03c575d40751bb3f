import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { SERVICE, applyYaml, eventually, ratioSlo } from './fixtures.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel();
});
afterAll(async () => t?.close());

const defs = async () => (await http(`${t.url}/v1/definitions`, { key: t.adminKey })).body.definitions as { kind: string; name: string }[];

describe('OpenSLO definitions', () => {
  it('refuses a set with errors as a whole, listing every error by file, line and field path', async () => {
    const bad = [
      SERVICE,
      ratioSlo('bad-duration', { window: '30x' }),
      ratioSlo('bad-target', { target: 1 }),
      ratioSlo('bad-cel', { good: 'status <' }),
      ratioSlo('constant-cel', { total: '1 == 1' }),
      ratioSlo('type-cel', { good: 'latency_ms + 1' }),
      `apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: dangling\nspec:\n  service: nowhere\n  indicatorRef: no-such-sli\n  timeWindow:\n    - duration: 7d\n      isRolling: true\n  budgetingMethod: Occurrences\n  objectives:\n    - target: 0.9\n  alertPolicies:\n    - alertPolicyRef: no-such-policy\n`,
      `apiVersion: openslo/v1\nkind: Widget\nmetadata:\n  name: w\n`,
      ratioSlo('unknown-field', { extra: '  colour: blue\n' }),
    ].join('---\n');
    const r = await applyYaml(t.url, t.adminKey, bad, 'bad.yaml');
    expect(r.status).toBe(400);
    const details = r.body.error.details as { file: string; line: number; path: string; message: string; name?: string }[];
    const find = (name: string, path: string) => details.find((d) => d.name === name && d.path === path);
    expect(find('bad-duration', 'spec.timeWindow[0].duration')).toMatchObject({ file: 'bad.yaml', message: expect.stringMatching(/not a duration/) });
    expect(find('bad-target', 'spec.objectives[0].target')?.message).toMatch(/\[0, 1\)/);
    expect(find('bad-cel', 'spec.indicator.spec.ratioMetric.good.metricSource.spec.query')?.message).toMatch(/^CEL: /);
    expect(find('constant-cel', 'spec.indicator.spec.ratioMetric.total.metricSource.spec.query')?.message).toMatch(/references no event attribute/);
    expect(find('type-cel', 'spec.indicator.spec.ratioMetric.good.metricSource.spec.query')?.message).toMatch(/boolean/);
    expect(find('dangling', 'spec.service')?.message).toBe('no Service named "nowhere"');
    expect(find('dangling', 'spec.indicatorRef')?.message).toBe('no SLI named "no-such-sli"');
    expect(find('dangling', 'spec.alertPolicies[0].alertPolicyRef')?.message).toBe('no AlertPolicy named "no-such-policy"');
    expect(details.find((d) => d.path === 'kind')?.message).toMatch(/unknown kind openslo\/v1\/Widget/);
    expect(find('unknown-field', 'spec')?.message).toMatch(/unknown field\(s\): colour/);
    // Lines point at the field: the bad target of the second SLO document.
    const targetLine = bad.split('\n').findIndex((l, i, all) => l.includes('target: 1') && all.slice(0, i).some((x) => x.includes('name: bad-target'))) + 1;
    expect(find('bad-target', 'spec.objectives[0].target')?.line).toBe(targetLine);
    expect(r.body.error.message).toMatch(/nothing was applied/);
    expect(await defs()).toEqual([]);
  });

  it('plans, applies atomically, versions every change, and keeps counters when only the target changes', async () => {
    const docs = `${SERVICE}---\n${ratioSlo('checkout-availability')}`;
    const plan = await http(`${t.url}/v1/definitions/plan`, { key: t.adminKey, json: { sources: [{ file: 'a.yaml', content: docs }] } });
    expect(plan.body.summary).toEqual({ create: 2, update: 0, delete: 0, unchanged: 0 });
    expect((await applyYaml(t.url, t.adminKey, docs)).status).toBe(200);
    const first = await http(`${t.url}/v1/slos/checkout-availability`, { key: t.adminKey });
    expect(first.status).toBe(200);
    const changed = await applyYaml(t.url, t.adminKey, `${SERVICE}---\n${ratioSlo('checkout-availability', { target: 0.995 })}`);
    expect(changed.body.items.find((i: { name: string }) => i.name === 'checkout-availability').diff).toEqual([{ path: 'objectives[0].target', before: 0.99, after: 0.995 }]);
    const second = await http(`${t.url}/v1/slos/checkout-availability`, { key: t.adminKey });
    expect(second.body.generation).toBe(first.body.generation);
    expect(second.body.objectives[0].target).toBe(0.995);
    const recount = await applyYaml(t.url, t.adminKey, `${SERVICE}---\n${ratioSlo('checkout-availability', { target: 0.995, good: 'status < 400' })}`);
    expect(recount.status).toBe(200);
    const third = await http(`${t.url}/v1/slos/checkout-availability`, { key: t.adminKey });
    expect(third.body.generation).not.toBe(first.body.generation);
    const hist = await http(`${t.url}/v1/definitions/SLO/checkout-availability/history`, { key: t.adminKey });
    expect(hist.body.versions.map((v: { version: number; action: string }) => [v.version, v.action])).toEqual([
      [1, 'create'],
      [2, 'update'],
      [3, 'update'],
    ]);
    expect(hist.body.versions[2].actor).toMatch(/^key:/);
  });

  it('resolves SLIs, alert policies, conditions and targets by reference and refuses deleting what is used', async () => {
    const docs = [
      SERVICE,
      `apiVersion: openslo/v1\nkind: SLI\nmetadata:\n  name: latency\nspec:\n  thresholdMetric:\n    metricSource:\n      type: keel\n      spec:\n        query: latency_ms\n        filter: service == "checkout"\n`,
      `apiVersion: openslo/v1\nkind: AlertCondition\nmetadata:\n  name: fast\nspec:\n  severity: page\n  condition:\n    kind: burnrate\n    op: gte\n    threshold: 10\n    lookbackWindow: 1h\n    alertAfter: 5m\n`,
      `apiVersion: openslo/v1\nkind: AlertNotificationTarget\nmetadata:\n  name: oncall\nspec:\n  target: pagerduty\n`,
      `apiVersion: openslo/v1\nkind: AlertPolicy\nmetadata:\n  name: strict\nspec:\n  alertWhenBreaching: true\n  conditions:\n    - conditionRef: fast\n  notificationTargets:\n    - targetRef: oncall\n`,
      `apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: checkout-latency\nspec:\n  service: checkout\n  indicatorRef: latency\n  timeWindow:\n    - duration: 1M\n      isRolling: false\n      calendar:\n        startTime: "2026-01-01 00:00:00"\n        timeZone: Europe/Berlin\n  budgetingMethod: Timeslices\n  objectives:\n    - op: lte\n      value: 300\n      target: 0.95\n      timeSliceTarget: 0.9\n      timeSliceWindow: 5m\n  alertPolicies:\n    - alertPolicyRef: strict\n    - alertPolicyRef: default\n`,
    ].join('---\n');
    const r = await applyYaml(t.url, t.adminKey, docs);
    expect(r.status).toBe(200);
    const s = await http(`${t.url}/v1/slos/checkout-latency`, { key: t.adminKey });
    expect(s.body.policies.map((p: { name: string }) => p.name)).toEqual(['strict', 'default']);
    expect(s.body.policies[0].conditions[0]).toMatchObject({ name: 'fast', threshold: 10, longWindow: '1h', shortWindow: '5m', alertAfter: '5m' });
    expect(s.body.policies[0].notificationTargets).toEqual([{ name: 'oncall', target: 'pagerduty' }]);
    // The default policy is scaled to the calendar month (31 days in the current period or not, nominal 30).
    expect(s.body.window).toMatchObject({ duration: '1M', rolling: false, calendar: { timeZone: 'Europe/Berlin' } });
    for (const [kind, name] of [
      ['SLI', 'latency'],
      ['AlertPolicy', 'strict'],
      ['AlertCondition', 'fast'],
      ['AlertNotificationTarget', 'oncall'],
      ['Service', 'checkout'],
    ]) {
      const del = await http(`${t.url}/v1/definitions/${kind}/${name}`, { method: 'DELETE', key: t.adminKey });
      expect(del.status, `${kind}/${name}`).toBe(409);
    }
    const wrongOp = await applyYaml(t.url, t.adminKey, ratioSlo('ratio-with-op', { objectives: '    - op: lte\n      value: 3\n      target: 0.9\n' }));
    expect(wrongOp.status).toBe(400);
    expect(wrongOp.body.error.details[0].path).toBe('spec.objectives[0].value');
  });

  it('reads and writes SLOs through /v1/slos with the same validation and versions', async () => {
    const doc = {
      apiVersion: 'openslo/v1',
      kind: 'SLO',
      metadata: { name: 'api-slo' },
      spec: {
        service: 'checkout',
        indicator: {
          metadata: { name: 'api-sli' },
          spec: { ratioMetric: { total: { metricSource: { type: 'keel', spec: { query: 'service == "api"' } } }, bad: { metricSource: { type: 'keel', spec: { query: 'status >= 500' } } } } },
        },
        timeWindow: [{ duration: '7d', isRolling: true }],
        budgetingMethod: 'Occurrences',
        objectives: [{ targetPercent: 99.5 }],
      },
    };
    const created = await http(`${t.url}/v1/slos`, { key: t.adminKey, json: doc });
    expect(created.status).toBe(201);
    expect(created.body.slo.objectives[0].target).toBe(0.995);
    expect(created.body.slo.policies[0].conditions[0].longWindow).toBe('14m');
    const put = await http(`${t.url}/v1/slos/api-slo`, { method: 'PUT', key: t.adminKey, json: { ...doc, spec: { ...doc.spec, objectives: [{ target: 0.9 }] } } });
    expect(put.status).toBe(200);
    expect(put.body.plan.summary.update).toBe(1);
    const mismatch = await http(`${t.url}/v1/slos/other`, { method: 'PUT', key: t.adminKey, json: doc });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.error.message).toMatch(/metadata.name must be "other"/);
    const invalid = await http(`${t.url}/v1/slos`, { key: t.adminKey, json: { ...doc, spec: { ...doc.spec, objectives: [{ target: 1.5 }] } } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details[0]).toMatchObject({ file: 'request', path: 'spec.objectives[0].target' });
    const malformed = await http(`${t.url}/v1/slos`, { key: t.adminKey, body: '{"kind": "SLO",', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('malformed_body');
    const wrongKind = await http(`${t.url}/v1/slos`, { key: t.adminKey, json: { ...doc, kind: 'SLI' } });
    expect(wrongKind.status).toBe(400);
    const list = await http(`${t.url}/v1/slos`, { key: t.adminKey });
    expect(list.body.slos.map((s: { name: string }) => s.name)).toContain('api-slo');
    const del = await http(`${t.url}/v1/slos/api-slo`, { method: 'DELETE', key: t.adminKey });
    expect(del.status).toBe(200);
    expect((await http(`${t.url}/v1/slos/api-slo`, { key: t.adminKey })).status).toBe(404);
    expect((await http(`${t.url}/v1/slos/api-slo`, { method: 'DELETE', key: t.adminKey })).status).toBe(404);
  });

  it('warns (without refusing) when a filter reads an attribute no recent event has', async () => {
    const sent = await http(`${t.url}/v1/events`, { key: t.adminKey, body: '{"service": "checkout", "status": 200}\n', headers: { 'content-type': 'application/x-ndjson' } });
    expect(sent.status).toBe(202);
    const typo = `${SERVICE}---\n${ratioSlo('typo', { good: 'stauts < 500' })}`;
    const plan = await eventually(
      async () => {
        const p = await http(`${t.url}/v1/definitions/plan`, { key: t.adminKey, json: { sources: [{ file: 'typo.yaml', content: typo }] } });
        // The Service (no escalation policy, its SLO pages) has its own warning: look at the SLO's.
        return p.body.warnings?.some((w: { kind: string }) => w.kind === 'SLO') ? p.body : undefined;
      },
      20_000,
      'a plan warning',
    );
    expect(plan.warnings.find((w: { kind: string }) => w.kind === 'SLO')).toMatchObject({
      file: 'typo.yaml',
      kind: 'SLO',
      name: 'typo',
      path: 'spec.indicator.spec.ratioMetric.good.metricSource.spec.query',
      message: 'no recent event of this tenant has the attribute "stauts" (read by the good query): every event counts as bad; check the name',
    });
    expect(plan.summary.create).toBe(1);
  });

  it('warns a small tenant whose events are behind a large tenant’s, at plan, apply and in slo status, with what the typo does', async () => {
    expect((await http(`${t.url}/v1/tenants`, { key: t.adminKey, json: { id: 'tiny' } })).status).toBe(201);
    const tiny = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'tiny', scopes: ['admin'] } })).body.key as string;
    const send = (key: string, body: string) => http(`${t.url}/v1/events`, { key, body, headers: { 'content-type': 'application/x-ndjson' } });
    expect((await send(tiny, '{"service": "checkout", "status": 200, "route": "/a"}\n'.repeat(3))).status).toBe(202);
    // Then a larger tenant's traffic: many more batches, all newer than the small tenant's.
    for (let i = 0; i < 20; i++) expect((await send(t.adminKey, '{"service": "checkout", "status": 200, "region": "eu"}\n'.repeat(50))).status).toBe(202);
    const yaml = [
      SERVICE,
      ratioSlo('good-typo', { good: 'statsu < 500' }),
      ratioSlo('bad-typo', { bad: 'stauts >= 500' }),
      ratioSlo('total-typo', { total: 'servce == "checkout"', breakdown: ['route'] }),
      ratioSlo('fine', { breakdown: ['route'] }),
    ].join('---\n');
    const expected = [
      {
        name: 'good-typo',
        path: 'spec.indicator.spec.ratioMetric.good.metricSource.spec.query',
        message: 'no recent event of this tenant has the attribute "statsu" (read by the good query): every event counts as bad; check the name',
      },
      {
        name: 'bad-typo',
        path: 'spec.indicator.spec.ratioMetric.bad.metricSource.spec.query',
        message: 'no recent event of this tenant has the attribute "stauts" (read by the bad query): every event counts as good; check the name',
      },
      {
        name: 'total-typo',
        path: 'spec.indicator.spec.ratioMetric.total.metricSource.spec.query',
        message: 'no recent event of this tenant has the attribute "servce" (read by the total query): the SLO counts no event; check the name',
      },
    ];
    const plan = await http(`${t.url}/v1/definitions/plan`, { key: tiny, json: { sources: [{ file: 'tiny.yaml', content: yaml }] } });
    expect(plan.status).toBe(200);
    // The Service has a warning of its own (its SLOs page, it has no escalation policy): the SLOs' are compared here.
    expect(
      plan.body.warnings.filter((w: { kind: string }) => w.kind === 'SLO').map((w: { name: string; path: string; message: string }) => ({ name: w.name, path: w.path, message: w.message })),
    ).toEqual(expected);
    const applied = await applyYaml(t.url, tiny, yaml, 'tiny.yaml');
    expect(applied.status).toBe(200);
    expect(
      applied.body.warnings.filter((w: { kind: string }) => w.kind === 'SLO').map((w: { name: string; path: string; message: string }) => ({ name: w.name, path: w.path, message: w.message })),
    ).toEqual(expected);
    const good = await http(`${t.url}/v1/slos/good-typo`, { key: tiny });
    expect(good.body.warnings).toEqual([expected[0]!.message]);
    expect((await http(`${t.url}/v1/slos/fine`, { key: tiny })).body.warnings).toEqual([]);
  });

  it('checks keys and permissions on every SLO route', async () => {
    const ingest = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'default', scopes: ['ingest'] } })).body.key as string;
    const read = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'default', scopes: ['read'] } })).body.key as string;
    expect((await http(`${t.url}/v1/slos`)).status).toBe(401);
    expect((await http(`${t.url}/v1/slos`, { key: 'keel_wrong_key_000000000000000000' })).status).toBe(401);
    expect((await http(`${t.url}/v1/slos`, { key: ingest })).status).toBe(403);
    expect((await http(`${t.url}/v1/slos`, { key: read })).status).toBe(200);
    const write = await http(`${t.url}/v1/slos`, { key: read, json: { kind: 'SLO' } });
    expect(write.status).toBe(403);
    expect(write.body.error.message).toMatch(/slo:write/);
    expect((await http(`${t.url}/v1/slo-evaluations`, { method: 'POST', key: read })).status).toBe(403);
    expect((await http(`${t.url}/v1/slos/checkout-availability/series?step=banana`, { key: read })).status).toBe(400);
    expect((await http(`${t.url}/v1/slos/checkout-availability/series?color=red`, { key: read })).status).toBe(400);
    const tooMany = await http(`${t.url}/v1/slos/checkout-availability/series?from=0&step=1m`, { key: read });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toMatch(/at most 1000/);
  });
});

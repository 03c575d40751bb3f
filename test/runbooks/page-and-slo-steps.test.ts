/** `keel` steps that page a person or an on-call schedule, and that count an SLO again or evaluate its alerts now. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, ndjson, type TestKeel } from '../helpers/keel.js';
import { apply, applyOk, startPagingKeel, startReceiver, userDoc, waitFor, webhookSecrets, type Receiver } from '../helpers/paging.js';
import { ratioSlo, SERVICE, settled } from '../slo/fixtures.js';

let t: TestKeel;
let rx: Receiver;
beforeAll(async () => {
  t = await startPagingKeel({ runbooks: { pollInterval: '50ms' } });
  rx = await startReceiver();
  await webhookSecrets(t.url, t.adminKey, ['ann', 'ben']);
  await applyOk(
    t,
    `${userDoc('ann', `${rx.url}/ann`)}---
${userDoc('ben', `${rx.url}/ben`)}---
apiVersion: keel/v1
kind: User
metadata: {name: cal}
spec: {email: cal@example.com, name: Cal, timeZone: UTC}
---
apiVersion: keel/v1
kind: Schedule
metadata: {name: primary}
spec:
  timeZone: UTC
  layers: [{name: only, users: [ben], start: "2026-01-05", turn: 1w}]
---
apiVersion: keel/v1
kind: Schedule
metadata: {name: quiet}
spec:
  timeZone: UTC
  layers: [{name: only, users: [cal], start: "2026-01-05", turn: 1w}]
`,
  );
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

async function ended(id: string) {
  return waitFor(`run ${id}`, async () => {
    const r = await http(`${t.url}/v1/runbooks/runs/${id}`, { key: t.adminKey });
    return ['succeeded', 'failed', 'aborted'].includes(r.body.status) ? r.body : undefined;
  });
}

const runbook = (name: string, steps: string) => `apiVersion: keel/v1
kind: Runbook
metadata: {name: ${name}}
spec:
  steps:
${steps}`;

describe('page steps', () => {
  it('pages a named person and the on-call person of a schedule once each, on the incident’s timeline', async () => {
    await applyOk(
      t,
      runbook(
        'get-help',
        `    - name: call
      keel: {action: page, users: [ann, ben], schedules: [primary]}
`,
      ),
    );
    const inc = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: 'db is slow', severity: 'SEV2', page: false } });
    const run = await http(`${t.url}/v1/runbooks/get-help/runs`, { key: t.adminKey, json: { incident: String(inc.body.number) } });
    expect(run.status, JSON.stringify(run.body)).toBe(201);
    const done = await ended(run.body.id);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    // ben is named and on call: paged once.
    expect(done.steps[0].output).toEqual({ action: 'page', incident: inc.body.number, paged: ['ann', 'ben'], missing: [], notifications: 2, result: 'done' });
    await waitFor('both webhooks', () => rx.requests.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.requests.map((r) => r.path).sort()).toEqual(['/ann', '/ben']);
    for (const r of rx.requests) expect(r.body.incident).toMatchObject({ id: inc.body.id, title: 'db is slow' });
    const timeline = await http(`${t.url}/v1/incidents/${inc.body.number}/timeline`, { key: t.adminKey });
    const messages = timeline.body.timeline.map((e: { message: string }) => e.message);
    expect(messages).toContain('Paging ann via hook');
    expect(messages).toContain('Paging ben via hook');
    // The page is recorded with the run's step, in the journal and the audit chain.
    const audit = await http(`${t.url}/v1/audit?action=runbooks.step.succeeded&limit=100`, { key: t.adminKey });
    expect(audit.body.entries.find((e: { target: string }) => e.target === `runbook-run/${run.body.id}/call`).after.output.paged).toEqual(['ann', 'ben']);
  });

  it('fails the step when nobody can be paged, and pages nobody', async () => {
    await applyOk(
      t,
      runbook(
        'no-one',
        `    - name: call
      keel: {action: page, schedules: [quiet]}
`,
      ),
    );
    const before = rx.requests.length;
    const inc = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: 'no one home', severity: 'SEV3', page: false } });
    const run = await http(`${t.url}/v1/runbooks/no-one/runs`, { key: t.adminKey, json: { incident: String(inc.body.number) } });
    const done = await ended(run.body.id);
    expect(done.status).toBe('failed');
    expect(done.steps[0].error).toBe('step call: nobody could be paged (cal has no contact methods)');
    expect(rx.requests.length).toBe(before);
  });

  it('refuses at plan a page naming nobody, an unknown schedule or user, and fields the action does not read', async () => {
    const detail = (r: { body: { error: { details: { path: string; message: string }[] } } }) => r.body.error.details.map((d) => `${d.path}: ${d.message}`);
    const shape = await apply(
      t,
      runbook(
        'bad-page',
        `    - name: a
      keel: {action: page}
    - name: c
      keel: {action: slo.backfill}
    - name: d
      keel: {action: incident.note, text: hi, slo: checkout, users: [ann]}
`,
      ),
    );
    expect(shape.status).toBe(400);
    expect(detail(shape)).toEqual([
      'spec.steps[0].keel: page names users or schedules (or both) to page',
      'spec.steps[1].keel.slo: slo.backfill names the SLO to count again',
      'spec.steps[2].keel.users: only page reads users, not incident.note',
      'spec.steps[2].keel.slo: only slo.backfill reads slo, not incident.note',
    ]);
    const refs = await apply(
      t,
      runbook(
        'bad-refs',
        `    - name: b
      keel: {action: page, users: [zed, ann], schedules: [nightly, "{{ params.who }}"]}
    - name: e
      keel: {action: slo.backfill, slo: nope}
`,
      ).replace('  steps:', '  parameters: {who: {type: string}}\n  steps:'),
    );
    expect(refs.status).toBe(400);
    expect(detail(refs)).toEqual(['spec.steps[0].keel.users[0]: no User named "zed"', 'spec.steps[0].keel.schedules[0]: no Schedule named "nightly"', 'spec.steps[1].keel.slo: no SLO named "nope"']);
  });
});

describe('SLO steps', () => {
  it('counts an SLO again from the event log and evaluates its alerts now', async () => {
    await applyOk(t, `${SERVICE}---\n${ratioSlo('checkout-availability')}`);
    const events = [200, 200, 500].map((status, i) => ({ id: `e${i}`, ts: new Date(Date.now() - 60_000).toISOString(), service: 'checkout', status }));
    expect((await http(`${t.url}/v1/events`, { key: t.adminKey, body: ndjson(events), headers: { 'content-type': 'application/x-ndjson' } })).status).toBe(202);
    await settled(t.url, t.adminKey);
    const first = (await http(`${t.url}/v1/slos/checkout-availability/backfill`, { key: t.adminKey })).body.backfills[0];
    await applyOk(
      t,
      runbook(
        'recount',
        `    - name: alerts
      keel: {action: slo.evaluate}
    - name: again
      keel: {action: slo.backfill, slo: checkout-availability}
`,
      ),
    );
    const run = await http(`${t.url}/v1/runbooks/recount/runs`, { key: t.adminKey, json: {} });
    const done = await ended(run.body.id);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    const generation = done.steps[1].output.generation;
    expect(done.steps[1].output).toEqual({ action: 'slo.backfill', slo: 'checkout-availability', generation, result: 'done' });
    expect(generation).not.toBe(first.generation);
    // The tenant's one SLO, evaluated at once; one bad event is fewer than slo.minBadEvents, so no alert fires.
    expect(done.steps[0].output).toEqual({ action: 'slo.evaluate', evaluated: 1, transitions: 0, result: 'done' });
    await settled(t.url, t.adminKey);
    const again = (await http(`${t.url}/v1/slos/checkout-availability/backfill`, { key: t.adminKey })).body.backfills[0];
    // The new generation counted the three events from the log itself.
    expect(again).toMatchObject({ generation, state: 'done', events: 3 });
    const status = (await http(`${t.url}/v1/slos/checkout-availability`, { key: t.adminKey })).body;
    expect(JSON.stringify(status)).toContain('"total":3');
  });
});

/** `keel` steps: incident severity and resolution, and a tenant's ingest paused, resumed and given a quota. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { waitFor } from '../helpers/paging.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel({ runbooks: { pollInterval: '50ms' } });
  expect((await http(`${t.url}/v1/tenants`, { key: t.adminKey, json: { id: 'acme' } })).status).toBeLessThan(300);
});
afterAll(async () => {
  await t?.close();
});

async function ended(id: string) {
  return waitFor(`run ${id}`, async () => {
    const r = await http(`${t.url}/v1/runbooks/runs/${id}`, { key: t.adminKey });
    return ['succeeded', 'failed', 'aborted'].includes(r.body.status) ? r.body : undefined;
  });
}

describe('keel steps', () => {
  it('raise severity and resolve the run’s incident, and pause, limit and resume a tenant’s ingest', async () => {
    const yaml = `apiVersion: keel/v1
kind: Runbook
metadata: {name: ops}
spec:
  parameters:
    tenant: {type: string, required: true}
  steps:
    - name: sev
      keel: {action: incident.severity, severity: SEV1}
    - name: pause
      keel: {action: ingest.pause, tenant: "{{ params.tenant }}"}
    - name: paused
      wait: {duration: 10ms}
    - name: limit
      keel: {action: ingest.quota, tenant: "{{ params.tenant }}", eventsPerSecond: 500, burst: 1000}
    - name: resume
      keel: {action: ingest.resume, tenant: "{{ params.tenant }}"}
    - name: quiet
      keel: {action: alerts.silence, matchers: ['tenant="{{ params.tenant }}"'], duration: 1h, text: "noisy while {{ params.tenant }} is limited"}
    - name: resolve
      keel: {action: incident.resolve, text: "fixed by runbook ops"}
`;
    expect((await http(`${t.url}/v1/definitions/apply`, { key: t.adminKey, json: { sources: [{ file: 'ops.yaml', content: yaml }] } })).status).toBe(200);
    const inc = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: 'acme floods us', severity: 'SEV3', page: false } });
    const run = await http(`${t.url}/v1/runbooks/ops/runs`, { key: t.adminKey, json: { params: { tenant: 'acme' }, incident: String(inc.body.number) } });
    expect(run.status).toBe(201);
    const done = await ended(run.body.id);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    expect(done.steps.find((s: { name: string }) => s.name === 'pause').output).toEqual({ action: 'ingest.pause', tenant: 'acme', result: 'done' });
    const tenant = await http(`${t.url}/v1/tenants/acme`, { key: t.adminKey });
    expect(tenant.body).toMatchObject({ paused: false, events_per_second: 500, burst: 1000 });
    const incident = await http(`${t.url}/v1/incidents/${inc.body.number}`, { key: t.adminKey });
    expect(incident.body).toMatchObject({ severity: 'SEV1', state: 'resolved' });
    // Resolved by automation, not by a person: no acknowledgement, so MTTA does not count it.
    expect(incident.body.acknowledged_at).toBeNull();
    const metrics = await http(`${t.url}/v1/incidents/metrics`, { key: t.adminKey });
    expect(metrics.body.overall).toMatchObject({ incidents: 1, acknowledged: 0, mtta_seconds: null });
    const journal = done.journal.map((j: { event: string; step: string | null }) => `${j.event} ${j.step ?? ''}`.trim());
    expect(journal.filter((e: string) => e.startsWith('step.succeeded'))).toEqual([
      'step.succeeded sev',
      'step.succeeded pause',
      'step.succeeded paused',
      'step.succeeded limit',
      'step.succeeded resume',
      'step.succeeded quiet',
      'step.succeeded resolve',
    ]);
    // The silence is a Silence definition, for an hour, named after the run and step.
    const silenceName = done.steps.find((s: { name: string }) => s.name === 'quiet').output.silence;
    const silence = await http(`${t.url}/v1/definitions/Silence/${silenceName}`, { key: t.adminKey });
    expect(silence.status).toBe(200);
    const spec = silence.body.spec ?? silence.body.definition?.spec;
    expect(spec).toMatchObject({ matchers: ['tenant="acme"'], createdBy: 'runbook:ops', comment: 'noisy while acme is limited' });
    expect(Date.parse(spec.endsAt) - Date.parse(spec.startsAt)).toBe(3_600_000);
    // The audit of the pause shows the tenant it paused.
    const audit = await http(`${t.url}/v1/audit?action=runbooks.step.succeeded&limit=100`, { key: t.adminKey });
    expect(audit.body.entries.find((e: { target: string }) => e.target === `runbook-run/${run.body.id}/pause`).after.output).toEqual({ action: 'ingest.pause', tenant: 'acme', result: 'done' });
  });

  it('fails a keel incident step when the run has no incident, naming why', async () => {
    const yaml = `apiVersion: keel/v1
kind: Runbook
metadata: {name: lonely}
spec:
  steps:
    - name: note
      keel: {action: incident.note, text: hi}
`;
    expect((await http(`${t.url}/v1/definitions/apply`, { key: t.adminKey, json: { sources: [{ file: 'l.yaml', content: yaml }] } })).status).toBe(200);
    const done = await ended((await http(`${t.url}/v1/runbooks/lonely/runs`, { key: t.adminKey, json: {} })).body.id);
    expect(done.error).toBe('step note failed: step note: the run is tied to no incident and the step names none');
  });
});

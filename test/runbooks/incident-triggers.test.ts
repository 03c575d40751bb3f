/** Incident triggers (severity, labels, CEL `when`), CEL matchers on alerts, and queueing behind a busy concurrency key. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { waitFor } from '../helpers/paging.js';

let t: TestKeel;
beforeAll(async () => {
  t = await startTestKeel({ runbooks: { pollInterval: '50ms' } });
});
afterAll(async () => {
  await t?.close();
});

async function apply(yaml: string) {
  const r = await http(`${t.url}/v1/definitions/apply`, { key: t.adminKey, json: { sources: [{ file: 'rb.yaml', content: yaml }] } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

const runs = async (runbook: string) =>
  (await http(`${t.url}/v1/runbooks/runs?runbook=${runbook}`, { key: t.adminKey })).body.runs as {
    id: string;
    status: string;
    trigger: string;
    actor: string;
    params: Record<string, unknown>;
    incident: { number: number } | null;
  }[];
const run = async (id: string) => (await http(`${t.url}/v1/runbooks/runs/${id}`, { key: t.adminKey })).body;
const fire = (dedupKey: string, labels: Record<string, string>) =>
  t.keel.ctx.alerts.signal({ tenant: 'default', dedupKey, source: 'alertmanager', status: 'firing', severity: 'critical', summary: `lag on ${labels.host}`, labels });

describe('incident triggers', () => {
  it('starts a run tied to an incident that opens with a matching severity and service, once', async () => {
    await apply(`apiVersion: openslo/v1
kind: Service
metadata: {name: checkout}
---
apiVersion: keel/v1
kind: Runbook
metadata: {name: first-aid}
spec:
  parameters:
    service: {type: string, required: true}
  triggers:
    incidents:
      - severities: [SEV1, SEV2]
        when: 'incident.service == "checkout"'
        params: {service: "{{ incident.service }}"}
  steps:
    - name: note
      keel: {action: incident.note, text: "first aid for {{ params.service }} (incident {{ incident.number }})"}
`);
    const sev3 = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: 'minor', severity: 'SEV3', service: 'checkout', page: false } });
    const other = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: 'elsewhere', severity: 'SEV1', page: false } });
    const sev1 = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: 'checkout down', severity: 'SEV1', service: 'checkout', page: false } });
    expect([sev3.status, other.status, sev1.status]).toEqual([201, 201, 201]);
    const started = await waitFor('the incident run', async () => (await runs('first-aid')).find((r) => r.status === 'succeeded'));
    expect(started).toMatchObject({ trigger: 'incident', actor: `incident:${sev1.body.number}`, params: { service: 'checkout' }, incident: { number: sev1.body.number } });
    const timeline = (await http(`${t.url}/v1/incidents/${sev1.body.number}/timeline`, { key: t.adminKey })).body.timeline as { message: string }[];
    expect(timeline.map((e) => e.message)).toContain(`first aid for checkout (incident ${sev1.body.number})`);
    // The SEV3 and the incident of no service matched nothing; the SEV1 started exactly one run.
    await new Promise((r) => setTimeout(r, 300));
    expect(await runs('first-aid')).toHaveLength(1);
  });

  it('refuses at plan matchers reading the wrong fields, naming their paths', async () => {
    const r = await http(`${t.url}/v1/definitions/apply`, {
      key: t.adminKey,
      json: {
        sources: [
          {
            file: 'bad.yaml',
            content: `apiVersion: keel/v1
kind: Runbook
metadata: {name: bad-triggers}
spec:
  parameters: {p: {type: string}}
  triggers:
    alerts:
      - when: 'incident.severity == "SEV1"'
    incidents:
      - when: 'alert.labels.env == "prod"'
        params: {p: "{{ incident.owner }}", q: "{{ incident.number }}"}
    concurrencyKey: "{{ params.p }}"
  steps:
    - name: w
      wait: {duration: 1s}
`,
          },
        ],
      },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.details.map((d: { path: string; message: string }) => `${d.path}: ${d.message}`)).toEqual([
      'spec.triggers.alerts[0].when: an alert trigger reads only alert.* fields',
      'spec.triggers.incidents[0].params.p: {{ incident.owner }}: unknown incident field "owner" (fields: id, number, title, severity, service, state)',
      'spec.triggers.incidents[0].params.q: unknown parameter "q"',
      'spec.triggers.incidents[0].when: an incident trigger reads only incident.* fields',
      'spec.triggers.concurrencyKey: {{ params.p }}: a concurrency key reads only alert.* or incident.* fields',
    ]);
  });
});

describe('CEL matchers and queueing', () => {
  it('starts a run only for alerts whose `when` holds', async () => {
    await apply(`apiVersion: keel/v1
kind: Runbook
metadata: {name: prod-only}
spec:
  triggers:
    alerts:
      - labels: {alertname: ErrorsHigh}
        when: 'alert.labels.env == "prod" && alert.severity == "critical"'
    concurrencyKey: "{{ alert.labels.host }}"
    cooldown: 0s
  steps:
    - name: w
      wait: {duration: 1ms}
`);
    await fire('errors/dev', { alertname: 'ErrorsHigh', env: 'dev', host: 'a' });
    await fire('errors/prod', { alertname: 'ErrorsHigh', env: 'prod', host: 'b' });
    await waitFor('the prod run', async () => (await runs('prod-only')).length > 0);
    await new Promise((r) => setTimeout(r, 300));
    expect((await runs('prod-only')).map((r) => r.actor)).toEqual(['alert:alertmanager/errors/prod']);
  });

  it('queues a run behind the active run of its concurrency key and starts it when that run ends', async () => {
    await apply(`apiVersion: keel/v1
kind: Runbook
metadata: {name: serial}
spec:
  triggers:
    alerts:
      - labels: {alertname: LagHigh}
    concurrencyKey: "{{ alert.labels.cluster }}"
    concurrencyPolicy: queue
    cooldown: 0s
  steps:
    - name: ok
      approval: {role: admin}
      timeout: 1h
`);
    await fire('lag/1', { alertname: 'LagHigh', cluster: 'eu' });
    const first = await waitFor('the first run', async () => (await runs('serial')).find((r) => r.status === 'waiting'));
    await fire('lag/2', { alertname: 'LagHigh', cluster: 'eu' });
    await fire('lag/3', { alertname: 'LagHigh', cluster: 'us' });
    const queued = await waitFor('a queued run', async () => (await runs('serial')).find((r) => r.status === 'queued'));
    expect(queued.actor).toBe('alert:alertmanager/lag/2');
    // Another key is not held up: the us run waits for its own approval.
    await waitFor('the us run', async () => (await runs('serial')).find((r) => r.actor === 'alert:alertmanager/lag/3' && r.status === 'waiting'));
    const detail = await run(queued.id);
    expect(detail.journal.map((j: { event: string }) => j.event)).toEqual(['run.created', 'run.queued']);
    // A queued run takes no approval meanwhile.
    expect((await http(`${t.url}/v1/runbooks/runs/${queued.id}/approve`, { key: t.adminKey, json: {} })).status).toBe(409);
    // The first run ends: the queued one starts in the same commit and now waits for its approval.
    expect((await http(`${t.url}/v1/runbooks/runs/${first.id}/abort`, { key: t.adminKey, json: { reason: 'done by hand' } })).status).toBe(200);
    const now = await run(queued.id);
    expect(now.status).toBe('waiting');
    expect(now.journal.map((j: { event: string }) => j.event)).toEqual(['run.created', 'run.queued', 'run.dequeued', 'approval.requested']);
    expect((await http(`${t.url}/v1/runbooks/runs/${queued.id}/approve`, { key: t.adminKey, json: {} })).status).toBe(200);
    await waitFor('the dequeued run to finish', async () => (await run(queued.id)).status === 'succeeded');
  });

  it('starts a queued run whose key is free on the next trigger pass (a queue row left by a crash)', async () => {
    // A run queued although nothing is active for its key, as after a crash between the two commits.
    const runsService = (t.keel.modules.all.find((m) => m.name === 'runbooks') as unknown as { runs: { start(i: unknown): Promise<{ id: string }> } }).runs;
    const orphan = await runsService.start({ tenant: 'default', runbook: 'serial', params: {}, actor: 'test', trigger: 'alert', concurrencyKey: 'asia', queued: true });
    const r = await waitFor('the orphan to start', async () => {
      const x = await run(orphan.id);
      return x.status === 'waiting' ? x : undefined;
    });
    expect(r.journal.map((j: { event: string }) => j.event)).toEqual(['run.created', 'run.queued', 'run.dequeued', 'approval.requested']);
  });
});

/** Runbooks over the API on a real embedded Keel: apply, dry-run, run http and keel steps, approvals, audit. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { waitFor } from '../helpers/paging.js';

let t: TestKeel;
let receiver: Server;
let receiverUrl = '';
const received: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];

beforeAll(async () => {
  t = await startTestKeel({ runbooks: { pollInterval: '50ms' } });
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const status = req.url?.startsWith('/fail') ? 500 : 200;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: status === 200, echoed: req.headers.authorization ?? null }));
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const a = receiver.address();
  receiverUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});
afterAll(async () => {
  await t?.close();
  await new Promise((r) => receiver?.close(r));
});

async function apply(yaml: string) {
  return http(`${t.url}/v1/definitions/apply`, { key: t.adminKey, json: { sources: [{ file: 'runbooks.yaml', content: yaml }] } });
}

async function finished(id: string) {
  return waitFor(`run ${id} to end`, async () => {
    const r = await http(`${t.url}/v1/runbooks/runs/${id}`, { key: t.adminKey });
    return ['succeeded', 'failed', 'aborted'].includes(r.body.status) ? r.body : undefined;
  });
}

describe('runbooks API', () => {
  it('refuses at plan a template naming an unknown parameter, with its path', async () => {
    const r = await http(`${t.url}/v1/definitions/plan`, {
      key: t.adminKey,
      json: { sources: [{ file: 'rb.yaml', content: `apiVersion: keel/v1\nkind: Runbook\nmetadata: {name: bad}\nspec:\n  steps:\n    - name: a\n      http: {url: "http://x/{{ params.nope }}"}\n` }] },
    });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain('unknown parameter \\"nope\\"');
    expect(JSON.stringify(r.body)).toContain('spec.steps[0].http.url');
  });

  it('runs http and keel steps with a secret that never shows, on the incident timeline and in the audit chain', async () => {
    const s = await http(`${t.url}/v1/paging/secrets`, { key: t.adminKey, json: { name: 'ops-token', value: 'tok-SECRET-123456' } });
    expect(s.status).toBeLessThan(300);
    const inc = await http(`${t.url}/v1/incidents`, { key: t.adminKey, json: { title: 'web is slow', page: false } });
    expect(inc.status).toBe(201);
    const yaml = `apiVersion: keel/v1
kind: Runbook
metadata: {name: restart-web}
spec:
  parameters:
    service: {type: string, required: true}
    count: {type: number, default: 2}
  steps:
    - name: restart
      http:
        method: POST
        url: "${receiverUrl}/restart/{{ params.service }}?n={{ params.count }}"
        headers: {Authorization: "Bearer {{ secrets.ops-token }}"}
        body: '{"service": "{{ params.service }}", "incident": {{ incident.number }}}'
    - name: note
      keel: {action: incident.note, text: "restarted {{ params.service }}: HTTP {{ steps.restart.output.status }}"}
    - name: mitigate
      keel: {action: incident.mitigate, text: "restart done"}
`;
    const a = await apply(yaml);
    expect(a.status, JSON.stringify(a.body)).toBe(200);

    const dry = await http(`${t.url}/v1/runbooks/restart-web/runs`, { key: t.adminKey, json: { params: { service: 'web' }, dry_run: true, incident: String(inc.body.number) } });
    expect(dry.status).toBe(200);
    expect(dry.body.steps[0].resolved).toMatchObject({ method: 'POST', url: `${receiverUrl}/restart/web?n=2`, headers: { Authorization: 'Bearer [secret ops-token]' } });
    expect(dry.body.steps[1].resolved.text).toBe('restarted web: HTTP <steps.restart.output.status>');
    expect(received).toHaveLength(0);

    const bad = await http(`${t.url}/v1/runbooks/restart-web/runs`, { key: t.adminKey, json: { params: { count: 'many' } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([
      { path: 'params.service', message: 'required' },
      { path: 'params.count', message: 'a number, not "many"' },
    ]);

    const run = await http(`${t.url}/v1/runbooks/restart-web/runs`, { key: t.adminKey, json: { params: { service: 'web' }, incident: String(inc.body.number) } });
    expect(run.status).toBe(201);
    const done = await finished(run.body.id);
    expect(done.status).toBe('succeeded');
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'POST', url: '/restart/web?n=2', body: `{"service": "web", "incident": ${inc.body.number}}` });
    expect(received[0]!.headers.authorization).toBe('Bearer tok-SECRET-123456');
    // The receiver echoed the token: the recorded output has it redacted.
    expect(done.steps[0].output.json).toEqual({ ok: true, echoed: 'Bearer [redacted]' });
    expect(JSON.stringify(done)).not.toContain('tok-SECRET');

    const incident = await http(`${t.url}/v1/incidents/${inc.body.number}`, { key: t.adminKey });
    expect(incident.body.state ?? incident.body.incident?.state).toBe('mitigated');
    const timeline = await http(`${t.url}/v1/incidents/${inc.body.number}/timeline?type=runbook`, { key: t.adminKey });
    const messages = timeline.body.timeline.map((e: { message: string }) => e.message);
    expect(messages).toContain('restarted web: HTTP 200');
    expect(messages).toContain('Runbook restart-web: run succeeded');

    // Journal and audit chain agree, entry for entry.
    const audit = await http(`${t.url}/v1/audit?limit=1000`, { key: t.adminKey });
    const entries = audit.body.entries.filter((e: { target: string }) => e.target.startsWith(`runbook-run/${run.body.id}`));
    expect(entries.map((e: { action: string }) => e.action.replace('runbooks.', ''))).toEqual(done.journal.map((j: { event: string }) => j.event));
    expect(done.journal.map((j: { event: string }) => j.event)).toEqual([
      'run.created',
      'step.started',
      'step.succeeded',
      'step.started',
      'step.succeeded',
      'step.started',
      'step.succeeded',
      'run.succeeded',
    ]);
    expect(JSON.stringify(audit.body)).not.toContain('tok-SECRET');
    expect((await http(`${t.url}/v1/audit/verify`, { key: t.adminKey })).body.ok).toBe(true);

    // The compliance report has the automated-change evidence.
    const report = await http(`${t.url}/v1/compliance/report`, { key: t.adminKey });
    expect(report.status).toBe(200);
    expect(report.body.automated_changes.rows).toContainEqual({ runbook: 'restart-web', team: 'default', runs: 1, automatic: 0, manual: 1, succeeded: 1, failed: 0, approved_steps: 0 });
  });

  it('an approval waits for a named person; others are refused; approving continues the run', async () => {
    const yaml = `apiVersion: keel/v1
kind: Runbook
metadata: {name: approve-me}
spec:
  steps:
    - name: ok
      approval: {role: admin}
      timeout: 1h
    - name: call
      http: {url: "${receiverUrl}/after-approval"}
`;
    expect((await apply(yaml)).status).toBe(200);
    const run = await http(`${t.url}/v1/runbooks/approve-me/runs`, { key: t.adminKey, json: {} });
    expect(run.body).toMatchObject({ status: 'waiting', phase: 'approval', current_step: 'ok' });
    const key = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'default', scopes: ['respond'] } });
    const refused = await http(`${t.url}/v1/runbooks/runs/${run.body.id}/approve`, { key: key.body.key, json: {} });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe('step ok may be approved only by anyone with the admin role');
    const ok = await http(`${t.url}/v1/runbooks/runs/${run.body.id}/approve`, { key: t.adminKey, json: {} });
    expect(ok.status).toBe(200);
    const done = await finished(run.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.steps[0].output.approved_by).toMatch(/^key:/);
    expect(received.filter((r) => r.url === '/after-approval')).toHaveLength(1);
    const again = await http(`${t.url}/v1/runbooks/runs/${run.body.id}/approve`, { key: t.adminKey, json: {} });
    expect(again.status).toBe(409);
  });

  it('retries a failing step with backoff and then fails the run with the step error', async () => {
    const yaml = `apiVersion: keel/v1
kind: Runbook
metadata: {name: flaky}
spec:
  steps:
    - name: call
      http: {url: "${receiverUrl}/fail"}
      safeToRepeat: true
      retries: {attempts: 2, backoff: 10ms}
`;
    expect((await apply(yaml)).status).toBe(200);
    const run = await http(`${t.url}/v1/runbooks/flaky/runs`, { key: t.adminKey, json: {} });
    const done = await finished(run.body.id);
    expect(done).toMatchObject({ status: 'failed', error: 'step call failed: HTTP 500' });
    expect(done.steps[0].attempts).toBe(3);
    expect(received.filter((r) => r.url === '/fail')).toHaveLength(3);
    const list = await http(`${t.url}/v1/runbooks/runs?runbook=flaky`, { key: t.adminKey });
    expect(list.body.runs.map((r: { id: string }) => r.id)).toEqual([run.body.id]);
  });

  it('judges an http step by its expected status: an expected 500 goes on, an unexpected 200 fails naming both', async () => {
    const yaml = `apiVersion: keel/v1
kind: Runbook
metadata: {name: statuses}
spec:
  steps:
    - name: down
      http: {url: "${receiverUrl}/fail/expected", expectStatus: [500]}
    - name: accepted
      http: {method: POST, url: "${receiverUrl}/accept", expectStatus: [202, 204]}
`;
    expect((await apply(yaml)).status).toBe(200);
    const run = await http(`${t.url}/v1/runbooks/statuses/runs`, { key: t.adminKey, json: {} });
    const done = await finished(run.body.id);
    expect(done).toMatchObject({ status: 'failed', error: 'step accepted failed: HTTP 200 (expected 202, 204)' });
    expect(done.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'failed']);
    expect(done.steps[0].output.status).toBe(500);
    expect(received.filter((r) => r.url === '/accept')).toHaveLength(1);
  });
});

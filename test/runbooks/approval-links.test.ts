/**
 * Approval requests through contact methods: who gets one (the people named, and the team's members
 * holding the role), what the webhook and Slack messages say, and the link's decision checked
 * again when it is used (a person whose role was lowered meanwhile may no longer approve).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalSlackBody, type ApprovalMessage } from '../../src/paging/notify/approval-message.js';
import { http, type TestKeel } from '../helpers/keel.js';
import { applyOk, startPagingKeel, startReceiver, userDoc, waitFor, webhookSecrets, type Receiver } from '../helpers/paging.js';
import { addUser } from '../helpers/security.js';

let t: TestKeel;
let receiver: Receiver;
const api = (path: string, init: { method?: string; json?: unknown } = {}) => http(`${t.url}${path}`, { key: t.adminKey, ...init });

beforeAll(async () => {
  receiver = await startReceiver();
  t = await startPagingKeel({ runbooks: { pollInterval: '50ms' } });
  await webhookSecrets(t.url, t.adminKey, ['ron', 'val']);
  await addUser(t.url, t.adminKey, { email: 'ron@example.com', name: 'Ron Example', role: 'responder' });
  await addUser(t.url, t.adminKey, { email: 'val@example.com', name: 'Val Example', role: 'viewer' });
  await applyOk(
    t,
    `${userDoc('ron', `${receiver.url}/ron`)}---
${userDoc('val', `${receiver.url}/val`)}---
apiVersion: keel/v1
kind: Runbook
metadata: {name: restart-web}
spec:
  steps:
    - name: confirm
      timeout: 30m
      approval: {role: responder, message: "Restart the web tier"}
    - name: note
      keel: {action: incident.note, text: "web tier restarted"}
`,
  );
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

describe('approval requests', () => {
  it('go to the members holding the role, through their webhook, and the link is decided once by them', async () => {
    const inc = await api('/v1/incidents', { json: { title: 'web tier stuck', page: false } });
    expect(inc.status).toBe(201);
    const started = await api('/v1/runbooks/restart-web/runs', { json: { incident: String(inc.body.number) } });
    expect(started.status, started.text).toBe(201);
    const run = started.body.id as string;
    expect(started.body.approval).toMatchObject({ step: 'confirm', users: [], role: 'responder', message: 'Restart the web tier' });

    const hook = await waitFor('the approval request', () => receiver.requests.find((r) => r.path === '/ron' && r.body?.run?.id === run));
    expect(hook.headers['x-keel-event']).toBe('runbook.approval_requested');
    expect(hook.headers['x-keel-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(hook.body).toMatchObject({
      event: 'runbook.approval_requested',
      tenant: 'default',
      run: { id: run, runbook: 'restart-web', incident: { id: inc.body.id, number: inc.body.number } },
      step: { name: 'confirm', message: 'Restart the web tier' },
      expires_at: started.body.approval.expires_at,
      recipient: { name: 'Ron Example', email: 'ron@example.com' },
    });
    // The viewer holds no responder role: nothing for them. The delivery shows on the incident.
    const deliveries = (await api(`/v1/incidents/${inc.body.id}/notifications`)).body.notifications as { target: string; status: string }[];
    expect(deliveries.map((d) => [d.target, d.status])).toEqual([['hook', 'sent']]);
    expect(receiver.requests.filter((r) => r.path === '/val')).toEqual([]);

    const link = new URL(hook.body.approve_url as string);
    const path = `${link.pathname}${link.search}`;
    const shown = await http(`${t.url}${path}`);
    expect(shown.body).toEqual({ action: 'approve', run: { id: run, runbook: 'restart-web', status: 'waiting' }, step: 'confirm', approver: 'ron@example.com', expires_at: hook.body.expires_at });

    // Ron is made a viewer: his link no longer approves (checked when used, not only when sent).
    expect((await api('/v1/users/ron@example.com', { method: 'PATCH', json: { role: 'viewer' } })).status).toBe(200);
    const refused = await http(`${t.url}${path}`, { json: { decision: 'approve' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe('the person this link was sent to may no longer approve step confirm');
    expect((await api(`/v1/runbooks/runs/${run}`)).body.status).toBe('waiting');

    expect((await api('/v1/users/ron@example.com', { method: 'PATCH', json: { role: 'responder' } })).status).toBe(200);
    const ok = await http(`${t.url}${path}`, { json: { decision: 'approve' } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.by).toBe('user:ron@example.com');
    await waitFor('the run to succeed', async () => ((await api(`/v1/runbooks/runs/${run}`)).body.status === 'succeeded' ? true : undefined));
    const timeline = (await api(`/v1/incidents/${inc.body.id}/timeline`)).body.timeline as { actor: string; message: string }[];
    expect(timeline.find((e) => e.message === 'Runbook restart-web: approval approved confirm')?.actor).toBe('user:ron@example.com');
  });
});

describe('the Slack message of an approval request', () => {
  it('names the runbook, run, step and expiry, and links to the confirmation page and the run', () => {
    const m: ApprovalMessage = {
      event: 'runbook.approval_requested',
      tenant: 'ops',
      run: { id: 'run_1', runbook: 'failover', url: 'https://keel.example/runbooks/runs/run_1?team=ops', incident: { id: 'inc_1', number: 7 } },
      step: { name: 'confirm', message: 'Fail over <checkout> & pay' },
      expires_at: '2026-01-01T00:10:00.000Z',
      approve_url: 'https://keel.example/v1/runbooks/approval-links?token=abc.def',
      recipient: null,
    };
    expect(approvalSlackBody(m).text).toBe(
      [
        ':raised_hand: *Approval needed: runbook failover, step confirm*',
        'Run:     run_1 (incident #7)',
        'Step:    confirm',
        'Expires: 2026-01-01T00:10:00.000Z',
        '',
        'Fail over &lt;checkout&gt; &amp; pay',
        '<https://keel.example/v1/runbooks/approval-links?token=abc.def|Approve or reject> · <https://keel.example/runbooks/runs/run_1?team=ops|Open the run>',
      ].join('\n'),
    );
  });
});

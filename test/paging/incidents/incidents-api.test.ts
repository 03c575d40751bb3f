import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.js';
import { keel } from '../../helpers/cli.js';
import { http, type TestKeel } from '../../helpers/keel.js';
import { applyOk, eventsV2, integrationKey, setSecret, startPagingKeel, startReceiver, userDoc, waitFor, type Receiver } from '../../helpers/paging.js';

const clock = new FakeClock('2026-04-06T10:00:00Z');
let t: TestKeel;
let rx: Receiver;
const impactCalls: { tenant: string; service: string; from: number; to: number }[] = [];
const MIN = 60_000;

const cli = (...args: string[]) => keel(args, { url: t.url, key: t.adminKey });
const api = (path: string, init: Parameters<typeof http>[1] = {}) => http(`${t.url}${path}`, { key: t.adminKey, ...init });

beforeAll(async () => {
  rx = await startReceiver();
  t = await startPagingKeel({}, { clock });
  t.keel.modules.paging.registerSloImpactProvider({
    impact: async (tenant, service, from, to) => {
      impactCalls.push({ tenant, service, from, to });
      return [{ slo: 'checkout-availability', budgetConsumed: 0.125, badEvents: 1234 }];
    },
  });
  await setSecret(t, 'alice-hook', 's1');
  await setSecret(t, 'bob-hook', 's2');
  await applyOk(
    t,
    `${userDoc('alice', `${rx.url}/alice`)}---
${userDoc('bob', `${rx.url}/bob`)}---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: alice-first}
spec:
  steps: [{notify: {users: [alice]}, wait: 10m}]
---
apiVersion: keel/v1
kind: Service
metadata: {name: checkout}
spec: {escalationPolicy: alice-first, incidentSeverity: SEV2}
`,
  );
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

describe('incident lifecycle through the CLI and the API', () => {
  it('declares, assigns roles, takes notes, acknowledges, mitigates and resolves', async () => {
    const declared = await cli(
      '--json',
      'incidents',
      'declare',
      '-t',
      'Payments down',
      '--service',
      'checkout',
      '--severity',
      'SEV1',
      '--commander',
      'alice',
      '--no-page',
      '--summary',
      'Card payments fail.',
    );
    expect(declared.code, declared.stderr).toBe(0);
    const inc = JSON.parse(declared.stdout);
    expect(inc).toMatchObject({ number: 1, severity: 'SEV1', state: 'triggered', service: 'checkout', escalation_policy: null, roles: { commander: { email: 'alice@example.com' } } });

    const roles = await cli('incidents', 'roles', '1', '--communications', 'bob', '--scribe', 'alice');
    expect(roles.code, roles.stderr).toBe(0);
    expect(roles.stdout).toMatch(/communications\s+Bob Example\s+bob@example.com/);
    expect((await cli('incidents', 'note', '1', 'rolled', 'back', 'the', 'deploy')).code).toBe(0);

    clock.advance(5 * MIN);
    const ack = await cli('incidents', 'ack', '#1', '--note', 'on it');
    expect(ack.code, ack.stderr).toBe(0);
    expect(ack.stdout).toBe('incident #1 acknowledged\n');
    // Acknowledging twice is not an error for scripts (issue 10 item 13); the API still answers 409.
    const again = await cli('incidents', 'ack', '1');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('incident #1 already acknowledged\n');

    clock.advance(10 * MIN);
    expect((await api(`/v1/incidents/${inc.id}/mitigate`, { method: 'POST' })).status).toBe(200);
    clock.advance(15 * MIN);
    const closeEarly = await api(`/v1/incidents/${inc.id}/close`, { method: 'POST' });
    expect(closeEarly.status).toBe(409);
    const resolved = await cli('incidents', 'resolve', '1');
    expect(resolved.stdout).toBe('incident #1 resolved\n');
    const ackResolved = await api(`/v1/incidents/${inc.id}/ack`, { method: 'POST' });
    expect(ackResolved.status).toBe(409);
    expect(ackResolved.body.error.message).toBe('incident #1 is resolved; it can go to closed, not acknowledged');

    const detail = (await api(`/v1/incidents/1`)).body;
    expect(detail).toMatchObject({
      state: 'resolved',
      opened_at: '2026-04-06T10:00:00.000Z',
      acknowledged_at: '2026-04-06T10:05:00.000Z',
      mitigated_at: '2026-04-06T10:15:00.000Z',
      resolved_at: '2026-04-06T10:30:00.000Z',
    });
    expect(Object.keys(detail.roles).sort()).toEqual(['commander', 'communications', 'scribe']);
    const tl = (await api(`/v1/incidents/1/timeline`)).body.timeline as any[];
    expect(tl.map((e) => e.type)).toEqual(['state', 'role', 'role', 'role', 'note', 'state', 'state', 'state']);
    expect(tl[4]).toMatchObject({ message: 'rolled back the deploy', actor: expect.stringMatching(/^key:keel_/) });
    expect(tl[5]).toMatchObject({ message: 'Acknowledged: on it', at: '2026-04-06T10:05:00.000Z' });
  });

  it('tracks action items and writes the postmortem with the SLO impact', async () => {
    const added = await cli('--json', 'incidents', 'action', 'add', '1', '-t', 'Add a canary stage', '--owner', 'bob');
    expect(added.code, added.stderr).toBe(0);
    const item = JSON.parse(added.stdout);
    expect(item).toMatchObject({ status: 'open', owner: { email: 'bob@example.com' } });
    const open = await api('/v1/action-items');
    expect(open.body.action_items.map((a: any) => a.title)).toEqual(['Add a canary stage']);
    const done = await cli('incidents', 'action', 'update', '1', item.id, '--status', 'in_progress');
    expect(done.stdout).toContain('in_progress: Add a canary stage');

    const dir = mkdtempSync(join(tmpdir(), 'keel-pm-'));
    const file = join(dir, 'pm.md');
    const pm = await cli('incidents', 'postmortem', '1', '-o', file);
    expect(pm.code, pm.stderr).toBe(0);
    const md = readFileSync(file, 'utf8');
    expect(md).toContain('# Postmortem: incident #1: Payments down');
    expect(md).toContain('## Summary\n\nCard payments fail.');
    expect(md).toContain('- Duration: 30m 0s');
    expect(md).toContain('| checkout-availability | 12.50% | 1,234 |');
    expect(md).toMatch(/## Timeline[\s\S]*\| 2026-04-06T10:05:00Z \| key:keel_\w+ \| Acknowledged: on it \|/);
    expect(md).toContain('| 2026-04-06T10:00:00Z | key:');
    expect(md).toContain('rolled back the deploy');
    expect(md).toContain('## Contributing alerts\n\n_None: the incident was declared by hand._');
    expect(md).toMatch(/\| Add a canary stage \(act_\w+\) \| Bob Example \(bob\) \| in_progress \|/);
    expect(md).toContain('| Commander | Alice Example (alice) |');
    // The SLO provider was asked about the incident's service and exact time range.
    expect(impactCalls.at(-1)).toEqual({ tenant: 'default', service: 'checkout', from: Date.parse('2026-04-06T10:00:00Z'), to: Date.parse('2026-04-06T10:30:00Z') });
    const stored = await api('/v1/incidents/1/postmortem');
    expect(stored.body.markdown).toBe(md);

    const runbook = await api('/v1/incidents/1/notes', { json: { type: 'runbook', text: 'Runbook restart-payments ran: ok', data: { runbook: 'restart-payments', status: 'succeeded' } } });
    expect(runbook.status).toBe(201);
    const list = await cli('incidents', 'list', '--state', 'all');
    expect(list.stdout).toMatch(/1\s+SEV1\s+resolved\s+checkout\s+Payments down/);
    const show = await cli('incidents', 'show', '1');
    expect(show.stdout).toContain('#1 [SEV1] Payments down');
    expect(show.stdout).toMatch(/roles: commander Alice Example, communications Bob Example, scribe Alice Example/);
    expect(show.stdout).toMatch(/runbook\s+Runbook restart-payments ran: ok/);
    expect(show.stdout).toMatch(/in_progress Add a canary stage \(bob@example.com\)/);
    const closed = await cli('incidents', 'close', '1');
    expect(closed.stdout).toBe('incident #1 closed\n');
    const tl = (await api('/v1/incidents/1/timeline?type=postmortem,action_item')).body.timeline as any[];
    expect(tl.map((e) => e.type)).toEqual(['action_item', 'action_item', 'postmortem']);
    expect((await api('/v1/incidents/1/timeline?type=runbook')).body.timeline[0]).toMatchObject({ type: 'runbook', data: { runbook: 'restart-payments' } });
  });

  it('opens incidents from alerts, pages, and lists contributing alerts in the postmortem', async () => {
    const key = await integrationKey(t, 'events-v2', 'checkout');
    const r = await http(`${t.url}/v1/integrations/events-v2`, { json: eventsV2(key, { dedup_key: 'e1', payload: { summary: 'Error rate 12%', source: 'lb', severity: 'critical' } }) });
    expect(r.status).toBe(202);
    const page = await waitFor('alice to be paged', () => rx.requests.find((x) => x.path === '/alice'));
    const number = page.body.incident.number as number;
    clock.advance(2 * MIN);
    expect((await api(`/v1/incidents/${number}/ack`, { method: 'POST' })).status).toBe(200);
    clock.advance(8 * MIN);
    expect((await api(`/v1/incidents/${number}/resolve`, { method: 'POST' })).status).toBe(200);
    const pm = await api(`/v1/incidents/${number}/postmortem`, { method: 'POST' });
    expect(pm.status).toBe(201);
    expect(pm.body.markdown).toMatch(/\| Error rate 12% \| critical \| events-v2 \| 2026-04-06T10:30:00Z \| 2026-04-06T10:30:00Z \| 1 \| 2026-04-06T10:40:00Z \|/);
    expect(pm.body.markdown).toMatch(/Paging alice via hook/);
  });

  it('reports MTTA, MTTR, severities and pages per person as API, CLI and Prometheus metrics', async () => {
    const m = await api('/v1/incidents/metrics?from=2026-04-06T00:00:00Z&to=2026-04-07T00:00:00Z');
    expect(m.status, m.text).toBe(200);
    // Incident 1: ack after 5 min, resolved after 30; incident 2: ack after 2, resolved after 10.
    expect(m.body.overall).toEqual({ incidents: 2, acknowledged: 2, resolved: 2, mtta_seconds: 210, mttr_seconds: 1200, by_severity: { SEV1: 1, SEV2: 1, SEV3: 0, SEV4: 0 } });
    expect(m.body.services).toEqual([{ service: 'checkout', incidents: 2, acknowledged: 2, resolved: 2, mtta_seconds: 210, mttr_seconds: 1200, by_severity: { SEV1: 1, SEV2: 1, SEV3: 0, SEV4: 0 } }]);
    expect(m.body.on_call_load).toEqual([{ user: 'alice@example.com', pages: 1, pages_per_week: 7, weeks: { '2026-W15': 1 } }]);

    const c = await cli('incidents', 'metrics', '--from', '2026-04-06T00:00:00Z', '--to', '2026-04-07T00:00:00Z');
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/\(all\)\s+2\s+3m 30s\s+20m 0s\s+1\s+1\s+0\s+0/);
    expect(c.stdout).toMatch(/alice@example.com\s+1\s+7/);

    const prom = await http(`${t.url}/metrics`, { key: t.adminKey });
    expect(prom.text).toMatch(/keel_incidents_opened_total\{tenant="default",service="checkout",severity="SEV1"\} 1/);
    expect(prom.text).toMatch(/keel_incident_mtta_seconds\{tenant="default",service=""\} 210/);
    expect(prom.text).toMatch(/keel_incident_mttr_seconds\{tenant="default",service="checkout"\} 1200/);
    expect(prom.text).toMatch(/keel_incident_time_to_acknowledge_seconds_count\{tenant="default",service="checkout"\} 2/);
    expect(prom.text).toMatch(/keel_pages_total\{tenant="default",user="alice@example.com"\} 1/);
    // The scrape-time gauges: both incidents are resolved, so none is open and no escalation step waits.
    expect(prom.text).not.toMatch(/^keel_incidents_open\{/m);
    expect(prom.text).toMatch(/^keel_escalation_timers_pending 0$/m);
    // promtool lints paging's metric families (prom-client's own nodejs_* defaults are not ours).
    const ours = prom.text
      .split('\n')
      .filter((l) => /^(# (HELP|TYPE) )?keel_(incident|pages|notification|paging|escalation)/.test(l))
      .join('\n');
    expect(ours).toContain('# TYPE keel_incident_mtta_seconds gauge');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: `${ours}\n`, encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  });
});

describe('bad input and permissions', () => {
  it('answers bad requests with a 4xx naming the field', async () => {
    const cases: [string, Parameters<typeof http>[1], number, RegExp][] = [
      ['/v1/incidents', { json: { title: 'x', service: 'nope' } }, 400, /^service: no Service named "nope"/],
      ['/v1/incidents', { json: { title: 'x', severity: 'SEV9' } }, 400, /^severity: /],
      ['/v1/incidents', { json: { title: 'x', color: 'red' } }, 400, /unknown field\(s\): color/],
      ['/v1/incidents', { json: { title: 'x', commander: 'ghost' } }, 400, /^commander: no user "ghost"/],
      ['/v1/incidents', { body: '{"title":', headers: { 'content-type': 'application/json' } }, 400, /not valid JSON/],
      ['/v1/incidents/999', {}, 404, /incident 999 not found/],
      ['/v1/incidents/1/roles/janitor', { method: 'PUT', json: { user: 'alice' } }, 400, /^role: /],
      ['/v1/incidents/1/ack', { method: 'POST', json: { note: 5 } }, 400, /^note: /],
      ['/v1/incidents?state=sleeping', {}, 400, /^state: /],
      ['/v1/incidents/metrics?from=2026-05-01T00:00:00Z&to=2026-04-01T00:00:00Z', {}, 400, /to: must be after from/],
      ['/v1/incidents', { json: { title: 'x'.repeat(301) } }, 400, /^title: Too big/],
    ];
    for (const [path, init, status, message] of cases) {
      const r = await api(path, init);
      expect(r.status, path).toBe(status);
      expect(r.body.error.message, path).toMatch(message);
    }
  });

  it('never finds or reveals people of another tenant', async () => {
    const other = await api('/v1/keys', { json: { tenant: 'other', scopes: ['admin'] } });
    const applied = await http(`${t.url}/v1/definitions/apply`, {
      key: other.body.key,
      json: { sources: [{ file: 'u.yaml', content: 'apiVersion: keel/v1\nkind: User\nmetadata: {name: zed}\nspec: {email: zed@other.example, name: Zed Secret}\n' }] },
    });
    expect(applied.status, applied.text).toBe(200);
    const r = await api('/v1/incidents/1/roles/scribe', { method: 'PUT', json: { user: 'zed@other.example' } });
    expect(r.status).toBe(400);
    expect(r.text).not.toContain('Zed Secret');
    const zedId = (await http(`${t.url}/v1/paging/people`, { key: other.body.key })).body.people[0].user_id;
    expect((await api(`/v1/oncall/users/${zedId}/shifts`)).status).toBe(404);
  });

  it('read keys read incidents but cannot respond; no key gets a 401', async () => {
    const k = await api('/v1/keys', { json: { scopes: ['read'] } });
    const readKey = k.body.key as string;
    expect((await http(`${t.url}/v1/incidents`, { key: readKey })).status).toBe(200);
    const denied = await http(`${t.url}/v1/incidents`, { key: readKey, json: { title: 'x' } });
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toMatch(/incidents:respond/);
    expect((await http(`${t.url}/v1/incidents`)).status).toBe(401);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keel, runCli } from '../helpers/cli.js';
import { http, type TestKeel } from '../helpers/keel.js';
import { apply, setSecret, startPagingKeel } from '../helpers/paging.js';

let t: TestKeel;
const api = (path: string, init: Parameters<typeof http>[1] = {}) => http(`${t.url}${path}`, { key: t.adminKey, ...init });
const cli = (...args: string[]) => keel(args, { url: t.url, key: t.adminKey });

const CONFIG = `apiVersion: keel/v1
kind: User
metadata: {name: erin}
spec:
  email: Erin@Example.com
  name: Erin
  timeZone: America/New_York
  contactMethods:
    - {name: mail, type: email, address: erin@example.com}
    - {name: pager, type: webhook, url: "https://pager.example/hook", signingSecret: erin-pager}
    - {name: chat, type: slack, webhookUrlSecret: erin-slack}
  notificationRules:
    - {after: 0m, contactMethod: chat}
    - {after: 5m, contactMethod: pager}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: erin-first}
spec:
  repeat: 2
  steps: [{notify: {users: [erin]}, wait: 15m}]
---
apiVersion: keel/v1
kind: Service
metadata: {name: web}
spec:
  description: The website
  escalationPolicy: erin-first
  alertGrouping: {by: [alertname]}
  pageSeverities: [critical]
  incidentSeverity: SEV3
---
apiVersion: keel/v1
kind: Route
metadata: {name: web-team}
spec: {matchers: ['team="web"'], service: web}
`;

beforeAll(async () => {
  t = await startPagingKeel();
  // Definitions naming secrets that do not exist are refused: store Erin's first.
  await setSecret(t, 'erin-pager', 'first');
  await setSecret(t, 'erin-slack', 'https://hooks.slack.example/first');
});
afterAll(async () => t?.close());

describe('paging definitions with keel apply', () => {
  it('applies users (upserted, made responders once), policies, services and routes from a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-defs-'));
    writeFileSync(join(dir, 'paging.yaml'), CONFIG);
    const planned = await cli('plan', '-f', join(dir, 'paging.yaml'));
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain('Plan: 4 to create, 0 to change, 0 to delete, 0 unchanged.');
    const applied = await cli('apply', '-f', join(dir, 'paging.yaml'));
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Applied: 4 created');

    const people = (await api('/v1/paging/people')).body.people;
    expect(people).toEqual([
      {
        handle: 'erin',
        user_id: expect.stringMatching(/^usr_/),
        email: 'erin@example.com',
        name: 'Erin',
        time_zone: 'America/New_York',
        contact_methods: [
          { name: 'chat', type: 'slack', webhookUrlSecret: 'erin-slack' },
          { name: 'mail', type: 'email', address: 'erin@example.com' },
          { name: 'pager', type: 'webhook', url: 'https://pager.example/hook', signingSecret: 'erin-pager' },
        ],
        notification_rules: [
          { after_ms: 0, contact_method: 'chat' },
          { after_ms: 300_000, contact_method: 'pager' },
        ],
      },
    ]);
    const members = await t.keel.ctx.people.members('default');
    expect(members.map((m) => [m.email, m.role])).toEqual([['erin@example.com', 'responder']]);
    // A role given by someone else is never changed by applying the User again.
    await t.keel.ctx.people.setRole('default', people[0].user_id, 'admin');
    const again = await apply(t, CONFIG.replace('name: Erin\n', 'name: Erin E.\n'));
    expect(again.body.summary).toEqual({ create: 0, update: 1, delete: 0, unchanged: 3 });
    expect((await t.keel.ctx.people.members('default')).map((m) => [m.name, m.role])).toEqual([['Erin E.', 'admin']]);
    const dry = await api('/v1/paging/route-test', { json: { labels: { team: 'web' }, severity: 'warning' } });
    expect(dry.body).toMatchObject({ service: 'web', route: 'web-team', opens_incident: false, pages: false, reason: 'severity warning is not one of critical' });
  });

  it('refuses invalid paging documents atomically with file:line:path errors', async () => {
    const bad = `apiVersion: keel/v1
kind: User
metadata: {name: frank}
spec:
  email: not-an-email
  name: Frank
  contactMethods:
    - {name: hook, type: webhook, url: "ftp://x"}
    - {name: hook, type: carrier-pigeon}
  notificationRules: [{after: soon, contactMethod: missing}]
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: broken}
spec:
  steps:
    - {notify: {}, wait: 5m}
    - {notify: {users: [nobody], schedules: [none]}, wait: 2s}
    - {notify: {users: [erin]}, wait: 30m}
---
apiVersion: keel/v1
kind: Route
metadata: {name: bad-route}
spec: {matchers: ['team=~"("', 'no-operator'], service: ghost}
---
apiVersion: keel/v1
kind: Silence
metadata: {name: bad-silence}
spec: {matchers: ['a="b"'], startsAt: "2026-01-02T00:00:00Z", endsAt: "2026-01-01T00:00:00Z", createdBy: x, comment: y}
---
apiVersion: keel/v1
kind: Service
metadata: {name: web2}
spec: {escalationPolicy: missing, unknownField: 1}
`;
    const r = await apply(t, bad, 'bad.yaml');
    expect(r.status).toBe(400);
    const got = (r.body.error.details as any[]).map((d) => `${d.line} ${d.path}: ${d.message}`);
    expect(got).toEqual(
      expect.arrayContaining([
        '5 spec.email: Invalid email address',
        '8 spec.contactMethods[0].url: must be an http:// or https:// URL',
        expect.stringMatching(/^9 spec\.contactMethods\[1\]\.type: /),
        expect.stringMatching(/^10 spec\.notificationRules\[0\]\.after: a duration/),
        '17 spec.steps[0].notify: a step notifies at least one user, schedule or channel',
        expect.stringMatching(/^24 spec\.matchers\[0\]: "team=~"\("": invalid regular expression/),
        expect.stringMatching(/^24 spec\.matchers\[1\]: "no-operator" is not a matcher/),
        expect.stringMatching(/^29 spec\.endsAt: must be after startsAt/),
        '34 spec: unknown field(s): unknownField',
      ]),
    );
    expect(r.body.error.message).toContain('nothing was applied');
    const refs = await apply(
      t,
      `apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: refs}
spec:
  steps: [{notify: {users: [nobody], schedules: [none], channels: [nowhere]}, wait: 5m}]
---
apiVersion: keel/v1
kind: Route
metadata: {name: r2}
spec: {service: ghost, default: true}
`,
      'refs.yaml',
    );
    expect((refs.body.error.details as any[]).map((d) => `${d.line} ${d.path}: ${d.message}`)).toEqual([
      '5 spec.steps[0].notify.users[0]: no User named "nobody"',
      '5 spec.steps[0].notify.schedules[0]: no Schedule named "none"',
      '5 spec.steps[0].notify.channels[0]: no Channel named "nowhere"',
      '10 spec.service: no Service named "ghost"',
    ]);
    expect((await api('/v1/definitions?kind=Silence')).body.definitions).toEqual([]);
  });

  it('refuses deleting what others reference', async () => {
    const policy = await api('/v1/escalation-policies/erin-first', { method: 'DELETE' });
    expect(policy.status).toBe(409);
    expect(policy.body.error.message).toBe('EscalationPolicy erin-first is used by Service web');
    const svc = await api('/v1/definitions/Service/web', { method: 'DELETE' });
    expect(svc.status).toBe(409);
    expect(svc.body.error.message).toBe('Service web is used by Route web-team');
    const user = await api('/v1/paging/users/erin', { method: 'DELETE' });
    expect(user.body.error.message).toBe('User erin is used by EscalationPolicy erin-first');
  });

  it('manages definitions over REST with the same validation', async () => {
    const put = await api('/v1/escalation-policies', { json: { name: 'second', spec: { steps: [{ notify: { users: ['erin'] }, wait: '10m' }] } } });
    expect(put.status, put.text).toBe(200);
    expect(put.body).toMatchObject({ action: 'create', name: 'second', version: 1, spec: { repeat: 0, steps: [{ notify: { users: ['erin'] }, wait: '10m' }] } });
    const same = await api('/v1/escalation-policies', { json: { name: 'second', spec: { steps: [{ notify: { users: ['erin'] }, wait: '10m' }] } } });
    expect(same.body.action).toBe('unchanged');
    const bad = await api('/v1/escalation-policies', { json: { name: 'second', spec: { steps: [{ notify: { users: ['erin'] }, wait: 'later' }] } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0]).toMatchObject({ path: 'spec.steps[0].wait', kind: 'EscalationPolicy', name: 'second' });
    const extra = await api('/v1/escalation-policies', { json: { name: 'second', spec: {}, extra: 1 } });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toMatch(/unknown field\(s\): extra/);
    expect((await api('/v1/escalation-policies')).body.items.map((i: any) => i.name)).toEqual(['erin-first', 'second']);
    expect((await api('/v1/definitions/EscalationPolicy/second/history')).body.versions).toHaveLength(1);
  });

  it('creates silences, secrets and integration keys from the CLI', async () => {
    const s = await cli('silences', 'create', '-m', 'alertname="Deploy"', '-m', 'env=~"dev|test"', '--duration', '2h', '-c', 'deploy week', '-a', 'erin', '-n', 'deploys');
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/^silence deploys from \S+ to \S+\n$/);
    const list = await cli('silences', 'list');
    expect(list.stdout).toMatch(/deploys\s+active\s+alertname="Deploy" env=~"dev\|test"/);
    const badSilence = await cli('silences', 'create', '-m', 'x', '-c', 'c');
    expect(badSilence.code).toBe(1);
    expect(badSilence.stderr).toMatch(/spec\.matchers\[0\]: "x" is not a matcher/);
    const badDuration = await cli('silences', 'create', '-m', 'a="b"', '-c', 'c', '--duration', 'forever');
    expect(badDuration.code).toBe(2);

    const sec = await cli('paging', 'secret', 'set', 'erin-pager', '--value', 'hunter2');
    expect(sec.stdout).toBe('secret erin-pager replaced\n');
    const secrets = await cli('--json', 'paging', 'secret', 'list');
    expect(JSON.parse(secrets.stdout).secrets.map((x: any) => x.name)).toEqual(['erin-pager', 'erin-slack']);
    expect(secrets.stdout).not.toContain('hunter2');
    const piped = await runCli(['paging', 'secret', 'set', 'erin-slack'], { url: t.url, key: t.adminKey, input: 'https://hooks.slack.example/T0/B0/xyz\n' });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).toBe('secret erin-slack replaced\n');
    expect(await t.keel.ctx.secrets.open((await t.keel.store.db.selectFrom('paging_secrets').select('sealed').where('name', '=', 'erin-slack').executeTakeFirstOrThrow()).sealed)).toBe(
      'https://hooks.slack.example/T0/B0/xyz',
    );
    const badName = await api('/v1/paging/secrets', { json: { name: 'Bad Name', value: 'x' } });
    expect(badName.body.error.details[0].path).toBe('name');
    expect(badName.status).toBe(400);

    const key = await cli('integrations', 'create', '--type', 'alertmanager', '--service', 'web');
    expect(key.code, key.stderr).toBe(0);
    expect(key.stdout).toMatch(/^ki\w{30}\n$/);
    expect(key.stderr).toMatch(/send to http:\/\/127\.0\.0\.1:\d+\/v1\/integrations\/alertmanager/);
    const badType = await cli('integrations', 'create', '--type', 'smoke-signals');
    expect(badType.code).toBe(1);
    expect(badType.stderr).toMatch(/type: Invalid option/);
  });

  it('documents every paging route in the generated OpenAPI description', async () => {
    const doc = (await http(`${t.url}/v1/openapi.json`)).body;
    expect(doc.paths['/v1/incidents/{id}/ack'].post['x-keel-permission']).toBe('incidents:respond');
    expect(doc.paths['/v1/integrations/events-v2'].post.security).toEqual([]);
    expect(doc.paths['/v1/schedules/{id}/oncall'].get.parameters.map((p: any) => p.name)).toEqual(['id', 'at', 'until']);
    expect(doc.paths['/v1/incidents'].post.requestBody.content['application/json'].schema.properties.severity.enum).toEqual(['SEV1', 'SEV2', 'SEV3', 'SEV4']);
  });
});

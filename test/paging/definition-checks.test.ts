/**
 * Definitions that can page nobody are refused or flagged before the outage: a contact method or a
 * Channel naming a paging secret that does not exist is refused at plan and apply with its path; a
 * Service whose SLOs page but which has no escalation policy is a warning at plan, apply and in
 * `keel paging route-test`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keel } from '../helpers/cli.js';
import { http, type TestKeel } from '../helpers/keel.js';
import { apply, setSecret, startPagingKeel } from '../helpers/paging.js';
import { ratioSlo } from '../slo/fixtures.js';

let t: TestKeel;
const cli = (...args: string[]) => keel(args, { url: t.url, key: t.adminKey });
const plan = (content: string) => http(`${t.url}/v1/definitions/plan`, { key: t.adminKey, json: { sources: [{ file: 'paging.yaml', content }] } });

const USER = `apiVersion: keel/v1
kind: User
metadata: {name: gus}
spec:
  email: gus@example.com
  name: Gus
  contactMethods:
    - {name: mail, type: email, address: gus@example.com}
    - {name: pager, type: webhook, url: "https://pager.example/hook", signingSecret: gus-pager}
---
apiVersion: keel/v1
kind: Channel
metadata: {name: ops}
spec: {type: slack, webhookUrlSecret: ops-slack}
`;

beforeAll(async () => {
  t = await startPagingKeel();
});
afterAll(async () => t?.close());

describe('secrets named by contact methods and channels', () => {
  it('are refused at plan and apply while they do not exist, naming file, line and path', async () => {
    for (const r of [await plan(USER), await apply(t, USER)]) {
      expect(r.status, r.text).toBe(400);
      const errors = r.body.error.details as { file: string; line: number; path: string; message: string }[];
      expect(errors.map((e) => `${e.file}:${e.line} ${e.path}: ${e.message}`).sort()).toEqual([
        'paging.yaml:14 spec.webhookUrlSecret: no paging secret named "ops-slack"; store it first (keel paging secret set ops-slack), or nobody can be paged through this',
        'paging.yaml:9 spec.contactMethods[1].signingSecret: no paging secret named "gus-pager"; store it first (keel paging secret set gus-pager), or nobody can be paged through this',
      ]);
    }
    expect((await http(`${t.url}/v1/channels/ops`, { key: t.adminKey })).status).toBe(404);
    // The same check through the REST resource.
    const rest = await http(`${t.url}/v1/channels`, { key: t.adminKey, json: { name: 'ops', spec: { type: 'slack', webhookUrlSecret: 'ops-slack' } } });
    expect(rest.status).toBe(400);
    expect(rest.text).toContain('no paging secret named \\"ops-slack\\"');
  });

  it('are accepted once stored, and cannot be deleted while definitions name them', async () => {
    await setSecret(t, 'gus-pager', 'p');
    await setSecret(t, 'ops-slack', 'https://hooks.slack.example/x');
    const r = await apply(t, USER);
    expect(r.status, r.text).toBe(200);
    const del = await http(`${t.url}/v1/paging/secrets/gus-pager`, { method: 'DELETE', key: t.adminKey });
    expect(del.status).toBe(409);
    expect(del.body.error.message).toBe('secret gus-pager is used by User gus (contact method pager); change them first');
    const cli = await keel(['paging', 'secret', 'list', '--json'], { url: t.url, key: t.adminKey });
    expect(cli.stdout).toContain('gus-pager');
    await setSecret(t, 'unused', 'x');
    expect((await http(`${t.url}/v1/paging/secrets/unused`, { method: 'DELETE', key: t.adminKey })).status).toBe(200);
  });
});

describe('a Service whose SLOs page but which has no escalation policy', () => {
  const DOCS = `apiVersion: keel/v1
kind: Service
metadata: {name: checkout}
spec: {description: no one is paged}
---
${ratioSlo('checkout-availability')}`;

  it('is a warning at plan and apply (API and CLI)', async () => {
    const message = 'SLO checkout-availability of service checkout pages, but the service has no escalation policy: those pages would reach nobody (give it spec.escalationPolicy, apiVersion keel/v1)';
    const planned = await plan(DOCS);
    expect(planned.status, planned.text).toBe(200);
    expect(planned.body.warnings).toEqual([expect.objectContaining({ file: 'paging.yaml', line: 4, path: 'spec', kind: 'Service', name: 'checkout', message })]);
    const dir = mkdtempSync(join(tmpdir(), 'keel-warn-'));
    writeFileSync(join(dir, 'slo.yaml'), DOCS);
    const applied = await cli('apply', '-f', join(dir, 'slo.yaml'));
    expect(applied.code, applied.stderr).toBe(0);
    expect(`${applied.stdout}${applied.stderr}`).toContain(message);
  });

  it('is a warning when only an SLO is applied to a stored Service without a policy', async () => {
    const service = await apply(t, DOCS.split('---')[0]!.replace('name: checkout', 'name: basket'));
    expect(service.status, service.text).toBe(200);
    const slo = ratioSlo('basket-availability').replace('service: checkout', 'service: basket');
    expect(slo).toContain('service: basket');
    const planned = await plan(slo);
    expect(planned.status, planned.text).toBe(200);
    expect(planned.body.warnings).toEqual([
      expect.objectContaining({
        file: '(stored)',
        kind: 'Service',
        name: 'basket',
        message: 'SLO basket-availability of service basket pages, but the service has no escalation policy: those pages would reach nobody (give it spec.escalationPolicy, apiVersion keel/v1)',
      }),
    ]);
  });

  it('is a warning in keel paging route-test, and goes away with a policy or without paging SLOs', async () => {
    const test = await cli('--json', 'paging', 'route-test', '--service', 'checkout', '--severity', 'page');
    expect(test.code, test.stderr).toBe(0);
    const answer = JSON.parse(test.stdout);
    expect(answer).toMatchObject({ service: 'checkout', pages: false, reason: 'the service has no escalation policy' });
    expect(answer.warnings).toEqual([expect.stringContaining('SLO checkout-availability of service checkout pages, but the service has no escalation policy')]);
    // Pages of severity "page" are not among the service's page severities: no warning.
    const quiet = await plan(DOCS.replace('spec: {description: no one is paged}', 'spec: {pageSeverities: [critical]}'));
    expect(quiet.body.warnings).toEqual([]);
  });
});

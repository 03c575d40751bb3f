/** The `keel` step `ingest.quota` sets a tenant's daily volume quota too (`eventsPerDay`), enforced at once. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { waitFor } from '../helpers/paging.js';
import { runEnded } from '../helpers/runbooks.js';

let t: TestKeel;
let ingestKey: string;
beforeAll(async () => {
  t = await startTestKeel({ runbooks: { pollInterval: '50ms' } });
  expect((await http(`${t.url}/v1/tenants`, { key: t.adminKey, json: { id: 'acme' } })).status).toBe(201);
  ingestKey = (await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'acme', scopes: ['ingest'] } })).body.key;
});
afterAll(async () => t?.close());

async function run(name: string, yaml: string, params: Record<string, unknown>) {
  expect((await http(`${t.url}/v1/definitions/apply`, { key: t.adminKey, json: { sources: [{ file: `${name}.yaml`, content: yaml }] } })).status).toBe(200);
  const started = await http(`${t.url}/v1/runbooks/${name}/runs`, { key: t.adminKey, json: { params } });
  expect(started.status).toBe(201);
  return runEnded(async (id) => (await http(`${t.url}/v1/runbooks/runs/${id}`, { key: t.adminKey })).body, started.body.id);
}

const send = (n: number) =>
  http(`${t.url}/v1/events`, { method: 'POST', key: ingestKey, body: ndjson(Array.from({ length: n }, (_, i) => ({ i }))), headers: { 'content-type': 'application/x-ndjson' } });

describe('runbook step ingest.quota with eventsPerDay', () => {
  it('sets the daily volume quota, which ingest enforces at once; null removes it', async () => {
    const yaml = (perDay: string) => `apiVersion: keel/v1
kind: Runbook
metadata: {name: daily-${perDay === 'null' ? 'off' : 'on'}}
spec:
  parameters:
    tenant: {type: string, required: true}
  steps:
    - name: cap
      keel: {action: ingest.quota, tenant: "{{ params.tenant }}", eventsPerDay: ${perDay}}
`;
    const done = await run('daily-on', yaml('100'), { tenant: 'acme' });
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    expect(done.steps.find((s: { name: string }) => s.name === 'cap').output).toEqual({ action: 'ingest.quota', tenant: 'acme', result: 'done' });
    const quota = await http(`${t.url}/v1/capacity/quotas/acme`, { key: t.adminKey });
    expect(quota.body).toMatchObject({ tenant: 'acme', eventsPerDay: 100 });
    // The rate quota is untouched: only the daily quota was named.
    expect((await http(`${t.url}/v1/tenants/acme`, { key: t.adminKey })).body).toMatchObject({ quota_is_default: true, paused: false });
    expect((await send(80)).status).toBe(202);
    const over = await send(30);
    expect(over.status).toBe(429);
    expect(over.body.error.message).toContain('tenant "acme" is over its daily volume quota of 100 events/day');

    const off = await run('daily-off', yaml('null'), { tenant: 'acme' });
    expect(off.status, JSON.stringify(off)).toBe('succeeded');
    expect((await http(`${t.url}/v1/capacity/quotas/acme`, { key: t.adminKey })).body.eventsPerDay).toBeNull();
    expect((await send(30)).status).toBe(202);
  });

  it('refuses a quota that is not a whole number of at least 1, with its path', async () => {
    const yaml = `apiVersion: keel/v1
kind: Runbook
metadata: {name: daily-bad}
spec:
  steps:
    - name: cap
      keel: {action: ingest.quota, eventsPerDay: 0}
`;
    const r = await http(`${t.url}/v1/definitions/apply`, { key: t.adminKey, json: { sources: [{ file: 'bad.yaml', content: yaml }] } });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body.error)).toContain('eventsPerDay');
  });

  it('fails the step for a tenant that does not exist, naming it', async () => {
    const yaml = `apiVersion: keel/v1
kind: Runbook
metadata: {name: daily-ghost}
spec:
  steps:
    - name: cap
      keel: {action: ingest.quota, tenant: ghost, eventsPerDay: 5}
`;
    const done = await run('daily-ghost', yaml, {});
    expect(done.status).toBe('failed');
    expect(done.error).toContain('tenant "ghost" not found');
    expect((await http(`${t.url}/v1/capacity/quotas/ghost`, { key: t.adminKey })).status).toBe(404);
  });
});

/**
 * The incident routes declare their answers (src/paging/incidents/schemas.ts): real answers of an
 * incident that paged, has a commander, a note, an action item and a postmortem parse with the
 * strict schemas (a field a view adds or drops without its schema fails here), and the OpenAPI
 * description carries them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  actionItemListSchema,
  actionItemSchema,
  incidentDetailSchema,
  incidentListSchema,
  incidentMetricsSchema,
  incidentSchema,
  postmortemSchema,
  rolesSchema,
  timelineSchema,
} from '../../../src/paging/incidents/schemas.js';
import { http, type TestKeel } from '../../helpers/keel.js';
import { applyOk, personWithPolicy, setSecret, startPagingKeel, startReceiver, waitFor, type Receiver } from '../../helpers/paging.js';

let t: TestKeel;
let rx: Receiver;
let number = 0;

const api = (path: string, init: Parameters<typeof http>[1] = {}) => http(`${t.url}${path}`, { key: t.adminKey, ...init });

/** The answer, parsed with the route's schema; fails with zod's paths when they differ. */
async function answer(schema: z.ZodType, path: string, init: Parameters<typeof http>[1] = {}, status = 200): Promise<unknown> {
  const r = await api(path, init);
  expect(r.status, r.text).toBe(status);
  const parsed = schema.safeParse(r.body);
  expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  return r.body;
}

beforeAll(async () => {
  rx = await startReceiver();
  t = await startPagingKeel();
  await setSecret(t, 'ann-hook', 's1');
  await applyOk(t, `${personWithPolicy('ann', rx.url)}---\napiVersion: keel/v1\nkind: Service\nmetadata: {name: shop}\nspec: {escalationPolicy: ann}\n`);
  const declared = (await answer(incidentDetailSchema, '/v1/incidents', { json: { title: 'Checkout down', service: 'shop', severity: 'SEV1', commander: 'ann' } }, 201)) as { number: number };
  number = declared.number;
  await waitFor('ann to be paged', () => rx.requests.find((x) => x.path === '/ann'));
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

describe('incident answers match their declared schemas', () => {
  it('the incident, its list, its roles and its timeline', async () => {
    const detail = (await answer(incidentDetailSchema, `/v1/incidents/${number}`)) as z.infer<typeof incidentDetailSchema>;
    expect(detail.roles.commander?.handle).toBe('ann');
    expect(detail.escalation?.policy).toBe('ann');
    await answer(incidentListSchema, '/v1/incidents?state=all');
    await answer(rolesSchema, `/v1/incidents/${number}/roles/scribe`, { method: 'PUT', json: { user: 'ann' } });
    await answer(rolesSchema, `/v1/incidents/${number}/roles/scribe`, { method: 'DELETE' });
    await api(`/v1/incidents/${number}/notes`, { json: { text: 'Rolled back' } });
    await answer(incidentSchema, `/v1/incidents/${number}`, { method: 'PATCH', json: { severity: 'SEV2' } });
    await answer(incidentSchema, `/v1/incidents/${number}/ack`, { method: 'POST' });
    await answer(timelineSchema, `/v1/incidents/${number}/timeline`);
  });

  it('action items, the postmortem and the metrics', async () => {
    const item = (await answer(actionItemSchema, `/v1/incidents/${number}/action-items`, { json: { title: 'Add a canary', owner: 'ann' } }, 201)) as { id: string; owner: { handle?: string } };
    expect(item.owner.handle).toBe('ann');
    await answer(actionItemSchema, `/v1/incidents/${number}/action-items/${item.id}`, { method: 'PATCH', json: { status: 'done' } });
    await answer(actionItemListSchema, `/v1/incidents/${number}/action-items`);
    await answer(actionItemListSchema, '/v1/action-items?status=all');
    await answer(incidentSchema, `/v1/incidents/${number}/resolve`, { method: 'POST' });
    await answer(postmortemSchema, `/v1/incidents/${number}/postmortem`, { method: 'POST' }, 201);
    await answer(postmortemSchema, `/v1/incidents/${number}/postmortem`, { method: 'PUT', body: '# Edited\n', headers: { 'content-type': 'text/markdown' } });
    await answer(postmortemSchema, `/v1/incidents/${number}/postmortem`);
    const metrics = (await answer(incidentMetricsSchema, '/v1/incidents/metrics?from=now-1d')) as z.infer<typeof incidentMetricsSchema>;
    expect(metrics.overall.incidents).toBe(1);
    expect(metrics.on_call_load.map((l) => l.user)).toEqual(['ann@example.com']);
  });

  it('the OpenAPI description documents the answers and the real error codes', async () => {
    const doc = (await api('/v1/openapi.json')).body as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }> }>>;
      components: { schemas: { Error: { properties: { error: { properties: { code: { enum: string[] } } } } } } };
    };
    const show = doc.paths['/v1/incidents/{id}']!.get!.responses['200']!.content!['application/json']!.schema;
    expect(Object.keys(show.properties ?? {})).toEqual(expect.arrayContaining(['number', 'roles', 'alerts', 'escalation', 'action_items']));
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toEqual(expect.arrayContaining(['validation_failed', 'not_found', 'rate_limited', 'internal']));
  });
});

describe('incident metrics by service', () => {
  it('counts only the pages of the service’s incidents when a service is given', async () => {
    // A second incident, on no service, pages ann through the policy named directly.
    const other = (await api('/v1/incidents', { json: { title: 'Batch job stuck', escalationPolicy: 'ann' } })).body as { number: number };
    await waitFor('ann paged for the second incident', () => rx.requests.filter((x) => x.path === '/ann' && x.body?.incident?.number === other.number).length > 0);
    const all = (await api('/v1/incidents/metrics?from=now-1d')).body as z.infer<typeof incidentMetricsSchema>;
    expect(all.overall.incidents).toBe(2);
    expect(all.on_call_load.map((l) => [l.user, l.pages])).toEqual([['ann@example.com', 2]]);
    const shop = (await api('/v1/incidents/metrics?from=now-1d&service=shop')).body as z.infer<typeof incidentMetricsSchema>;
    expect(shop.overall.incidents).toBe(1);
    expect(shop.on_call_load.map((l) => [l.user, l.pages])).toEqual([['ann@example.com', 1]]);
    const none = (await api('/v1/incidents/metrics?from=now-1d&service=nothing')).body as z.infer<typeof incidentMetricsSchema>;
    expect(none.overall.incidents).toBe(0);
    expect(none.on_call_load).toEqual([]);
  });
});

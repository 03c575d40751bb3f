/**
 * The on-call routes declare their answers (src/paging/oncall/schemas.ts): real answers parse with the
 * strict schemas, so a view that adds or drops a field without its schema fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  feedListSchema,
  newFeedSchema,
  oncallNowSchema,
  overrideListSchema,
  overrideSchema,
  personShiftsSchema,
  removedOverrideSchema,
  revokedFeedSchema,
  scheduleShiftsSchema,
} from '../../../src/paging/oncall/schemas.js';
import { definitionListSchema, definitionViewSchema } from '../../../src/definitions/schemas.js';
import { http, type TestKeel } from '../../helpers/keel.js';
import { applyOk, startPagingKeel } from '../../helpers/paging.js';

let t: TestKeel;

const docs = `${['ann', 'ben']
  .map((n) => `apiVersion: keel/v1\nkind: User\nmetadata: {name: ${n}}\nspec: {email: ${n}@example.com, name: ${n}, contactMethods: [{name: mail, type: email, address: ${n}@example.com}]}\n`)
  .join('---\n')}---
apiVersion: keel/v1
kind: Schedule
metadata: {name: primary}
spec:
  timeZone: Europe/Berlin
  layers:
    - {name: days, users: [ann, ben], start: "2026-01-05", turn: 1d, handoff: "09:00"}
`;

async function answer(schema: z.ZodType, path: string, init: Parameters<typeof http>[1] = {}, status = 200): Promise<unknown> {
  const r = await http(`${t.url}${path}`, { key: t.adminKey, ...init });
  expect(r.status, r.text).toBe(status);
  const parsed = schema.safeParse(r.body);
  expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  return r.body;
}

beforeAll(async () => {
  t = await startPagingKeel();
  await applyOk(t, docs);
});
afterAll(async () => t?.close());

describe('on-call answers match their declared schemas', () => {
  it('who is on call, shifts, overrides', async () => {
    const now = (await answer(oncallNowSchema, '/v1/oncall?at=2026-03-27T11:00:00Z')) as z.infer<typeof oncallNowSchema>;
    expect(now.oncall.map((o) => o.schedule)).toEqual(['primary']);
    await answer(scheduleShiftsSchema, '/v1/schedules/primary/oncall?at=2026-03-27T00:00:00Z&until=2026-03-29T00:00:00Z');
    await answer(personShiftsSchema, '/v1/oncall/users/ann/shifts?at=2026-03-27T00:00:00Z&until=2026-03-29T00:00:00Z');
    const o = (await answer(overrideSchema, '/v1/schedules/primary/overrides', { json: { user: 'ben', start: '2026-03-27T10:00:00Z', end: '2026-03-27T12:00:00Z' } }, 201)) as { id: string };
    await answer(overrideListSchema, '/v1/schedules/primary/overrides?all=true');
    await answer(removedOverrideSchema, `/v1/schedules/primary/overrides/${o.id}`, { method: 'DELETE' });
  });

  it('the schedule as a definition resource', async () => {
    const list = (await answer(definitionListSchema, '/v1/schedules')) as z.infer<typeof definitionListSchema>;
    expect(list.items.map((i) => [i.kind, i.name])).toEqual([['Schedule', 'primary']]);
    await answer(definitionViewSchema, '/v1/schedules/primary');
    await answer(definitionViewSchema, '/v1/paging/users/ann');
  });

  it('calendar feeds', async () => {
    const feed = (await answer(newFeedSchema, '/v1/schedules/primary/ical-feeds', { method: 'POST' }, 201)) as { id: string };
    await answer(newFeedSchema, '/v1/oncall/users/ann/ical-feeds', { method: 'POST' }, 201);
    await answer(feedListSchema, '/v1/ical-feeds');
    await answer(revokedFeedSchema, `/v1/ical-feeds/${feed.id}`, { method: 'DELETE' });
  });
});

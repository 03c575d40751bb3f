/**
 * Property-based tests for the two integration endpoints that face other systems (Alertmanager's
 * webhook, PagerDuty Events v2): random and hostile bodies get a 4xx in the protocol's error shape,
 * never a 5xx, a hang or a crash; and any valid payload, however odd its labels, is recorded whole.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertSurvivesHostileInput } from '../helpers/hostile.js';
import { http, type TestKeel } from '../helpers/keel.js';
import { alertmanagerBody, applyOk, eventsV2, integrationKey, startPagingKeel } from '../helpers/paging.js';

let t: TestKeel;
let amKey: string;
let evKey: string;

const amAlert = (fingerprint: string, labels: Record<string, string> = {}) => ({
  status: 'firing',
  labels: { alertname: 'HighErrorRate', severity: 'critical', ...labels },
  annotations: { summary: 'errors' },
  startsAt: '2026-01-01T10:00:00Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus:9090/graph',
  fingerprint,
});
const amBody = alertmanagerBody;

beforeAll(async () => {
  t = await startPagingKeel();
  await applyOk(t, 'apiVersion: keel/v1\nkind: Service\nmetadata: {name: api}\n');
  amKey = await integrationKey(t, 'alertmanager', 'api');
  evKey = await integrationKey(t, 'events-v2', 'api');
});
afterAll(async () => t?.close());

describe('the Alertmanager webhook', () => {
  it('survives hostile bodies with precise 4xx answers', async () => {
    await assertSurvivesHostileInput(
      { url: `${t.url}/v1/integrations/alertmanager`, headers: { authorization: `Bearer ${amKey}` } },
      { runs: 60, seed: amBody([amAlert('seed-1')]) },
    );
  });

  it('records every alert of any valid payload, whatever its labels and annotations hold', async () => {
    const labelValue = fc.string({ maxLength: 40 });
    const labels = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !['alertname', 'severity', '__proto__'].includes(k)), labelValue, { maxKeys: 6 });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(labels, { minLength: 1, maxLength: 8 }), async (sets) => {
        run++;
        const alerts = sets.map((l, i) => amAlert(`fp-${run}-${i}`, l));
        const r = await http(`${t.url}/v1/integrations/alertmanager`, { key: amKey, json: amBody(alerts) });
        expect(r.status, r.text).toBe(200);
        expect(r.body).toEqual({ alerts: alerts.length, opened: alerts.length, resolved: 0, updated: 0 });
      }),
      { numRuns: 25 },
    );
  });
});

describe('PagerDuty Events v2', () => {
  const pagerDutyError = (status: number, text: string) => {
    const body = JSON.parse(text) as { status?: unknown; message?: unknown; errors?: unknown; error?: { code?: unknown; message?: unknown } };
    // Events v2 answers invalid events the way PagerDuty does; a body the HTTP layer refuses
    // (size, media type) carries Keel's error shape.
    const pagerDuty = typeof body.status === 'string' && typeof body.message === 'string' && Array.isArray(body.errors);
    const keel = typeof body.error?.code === 'string' && typeof body.error?.message === 'string';
    if (!pagerDuty && !keel) throw new Error(`${status} in neither error shape: ${text.slice(0, 200)}`);
  };

  it('survives hostile bodies with PagerDuty-shaped 4xx answers', async () => {
    await assertSurvivesHostileInput({ url: `${t.url}/v1/integrations/events-v2` }, { runs: 60, seed: eventsV2(evKey), errorShape: pagerDutyError });
  });

  it('accepts any valid event with odd summaries, sources and custom details', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          summary: fc.string({ minLength: 1, maxLength: 1024 }).filter((s) => s.trim().length > 0),
          source: fc.string({ minLength: 1, maxLength: 255 }).filter((s) => s.trim().length > 0),
          severity: fc.constantFrom('critical', 'error', 'warning', 'info'),
          custom_details: fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }),
        }),
        async (payload) => {
          run++;
          const r = await http(`${t.url}/v1/integrations/events-v2`, { json: eventsV2(evKey, { dedup_key: `odd-${run}`, payload }) });
          expect(r.status, r.text).toBe(202);
          expect(r.body).toEqual({ status: 'success', message: 'Event processed', dedup_key: `odd-${run}` });
        },
      ),
      { numRuns: 25 },
    );
  });
});

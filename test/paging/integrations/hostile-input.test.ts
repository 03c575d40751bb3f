/**
 * Property-based tests for the two integration endpoints that face other systems (Alertmanager's
 * webhook, PagerDuty Events v2): random and hostile bodies get a 4xx in the protocol's error shape,
 * never a 5xx, a hang or a crash; and any valid payload, however odd its labels, is recorded whole.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertSurvivesHostileInput } from '../../helpers/hostile.js';
import { http, type TestKeel } from '../../helpers/keel.js';
import { alertmanagerBody, applyOk, eventsV2, integrationKey, startPagingKeel } from '../../helpers/paging.js';

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
    await assertSurvivesHostileInput({ url: `${t.url}/v1/integrations/alertmanager`, headers: { authorization: `Bearer ${amKey}` } }, { runs: 60, seed: amBody([amAlert('seed-1')]) });
  });

  it('records every alert of any valid payload, whatever its labels and annotations hold', async () => {
    const labelValue = fc.string({ maxLength: 40 });
    const labels = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !['alertname', 'severity', '__proto__'].includes(k)),
      labelValue,
      { maxKeys: 6 },
    );
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

/** `{"a":{"a":…1…}}` nested `levels` deep, built as text (JSON.stringify itself overflows on deep values). */
const nestedText = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
/** An Events v2 trigger as text with `details` spliced in raw as its custom_details. */
const eventsV2Text = (key: string, details: string, dedup = 'limits') =>
  `{"routing_key":"${key}","event_action":"trigger","dedup_key":"${dedup}","payload":{"summary":"s","source":"db-1","severity":"critical","custom_details":${details}}}`;
/** An Alertmanager body as text with `annotation` spliced in raw as an extra top-level field value. */
const amText = (annotations: string) => JSON.stringify(amBody([amAlert('limits-1')])).replace('"annotations":{"summary":"errors"}', `"annotations":${annotations}`);

describe('limits on every JSON the integrations accept (depth, size, encoding, numbers)', () => {
  const post = (path: string, body: string | Buffer, key?: string) => http(`${t.url}${path}`, { body, headers: { 'content-type': 'application/json' }, ...(key ? { key } : {}) });

  it('Events v2: custom_details nested 5,000 levels is a 400 naming the depth limit, not a 503 to retry forever', async () => {
    const r = await post('/v1/integrations/events-v2', eventsV2Text(evKey, nestedText(5000)));
    expect(r.status, r.text).toBe(400);
    expect(r.body.status).toBe('invalid event');
    expect(r.body.errors).toEqual([expect.stringMatching(/^payload\.custom_details\.a\.a.*: JSON nests deeper than 32 levels \(the limit is 32\)$/)]);
  });

  it('Events v2: any nesting within the limit is accepted, any beyond it refused (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6_000 }), async (levels) => {
        // custom_details sits at level 3 of the document (body, payload, custom_details).
        const r = await post('/v1/integrations/events-v2', eventsV2Text(evKey, nestedText(levels), `depth-${levels}`));
        if (levels + 2 <= 32) expect(r.status, r.text).toBe(202);
        else {
          expect(r.status, r.text).toBe(400);
          expect(r.body.errors[0]).toContain('the limit is 32');
        }
      }),
      { numRuns: 30, examples: [[30], [31], [5000]] },
    );
  });

  it('Events v2: invalid UTF-8 and non-finite numbers are refused, never stored altered', async () => {
    // custom_details is "caf" + a Latin-1 é (0xe9), which is not UTF-8; the bad byte follows `"caf`.
    const prefix = eventsV2Text(evKey, '"caf').slice(0, -2);
    const offset = Buffer.byteLength(prefix);
    const bad = await post('/v1/integrations/events-v2', Buffer.concat([Buffer.from(prefix), Buffer.from([0xe9]), Buffer.from('"}}')]));
    expect(bad.status, bad.text).toBe(400);
    expect(bad.body.errors).toEqual([`body is not valid UTF-8 at byte ${offset} (0xe9); send UTF-8 text`]);
    const huge = await post('/v1/integrations/events-v2', eventsV2Text(evKey, '{"bytes":1e400}'));
    expect(huge.status, huge.text).toBe(400);
    expect(huge.body.errors).toEqual(['payload.custom_details.bytes: number is out of range (JSON numbers must be finite, at most ±1.79e308)']);
  });

  it('Events v2: a body over 512 KiB is a 413 naming the limit', async () => {
    const r = await post('/v1/integrations/events-v2', eventsV2Text(evKey, JSON.stringify('x'.repeat(600 * 1024))));
    expect(r.status, r.text).toBe(413);
    expect(r.body.error).toEqual({ code: 'payload_too_large', message: `request body is larger than ${512 * 1024} bytes` });
  });

  it('Alertmanager: deep nesting, invalid UTF-8, non-finite numbers and oversize bodies are 4xx naming the limit', async () => {
    const deep = await post('/v1/integrations/alertmanager', amText(nestedText(5000)), amKey);
    expect(deep.status, deep.text).toBe(400);
    expect(deep.body.error.code).toBe('malformed_body');
    expect(deep.body.error.message).toMatch(/^alerts\[0\]\.annotations\.a\.a.*: JSON nests deeper than 32 levels \(the limit is 32\)$/);
    const text = amText('{"summary":"caf"}');
    const at = text.indexOf('caf') + 3;
    const bytes = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xff]), Buffer.from(text.slice(at))]);
    const utf8 = await post('/v1/integrations/alertmanager', bytes, amKey);
    expect(utf8.status, utf8.text).toBe(400);
    expect(utf8.body.error).toMatchObject({ code: 'malformed_body', message: `body is not valid UTF-8 at byte ${at} (0xff); send UTF-8 text` });
    const num = await post('/v1/integrations/alertmanager', JSON.stringify(amBody([amAlert('limits-2')])).replace('"truncatedAlerts":0', '"truncatedAlerts":-1e999'), amKey);
    expect(num.status, num.text).toBe(400);
    expect(num.body.error.message).toBe('truncatedAlerts: number is out of range (JSON numbers must be finite, at most ±1.79e308)');
    const big = await post('/v1/integrations/alertmanager', amText(JSON.stringify({ summary: 'x'.repeat(5 * 1024 * 1024) })), amKey);
    expect(big.status).toBe(413);
    expect(big.body.error.message).toBe(`request body is larger than ${4 * 1024 * 1024} bytes`);
  });

  it('heartbeat pings survive hostile bodies (the body is never parsed) and refuse bodies over 64 KiB', async () => {
    const hbKey = await integrationKey(t, 'heartbeat', 'api');
    const put = await http(`${t.url}/v1/heartbeats`, { key: t.adminKey, json: { name: 'hostile', spec: { service: 'api', interval: '1h' } } });
    expect(put.status, put.text).toBe(200);
    await assertSurvivesHostileInput({ url: `${t.url}/v1/heartbeats/hostile`, headers: { authorization: `Bearer ${hbKey}` } }, { runs: 40 });
    const deep = await post('/v1/heartbeats/hostile', nestedText(5000), hbKey);
    expect(deep.status, deep.text).toBe(200);
    const big = await post('/v1/heartbeats/hostile', 'x'.repeat(65 * 1024), hbKey);
    expect(big.status).toBe(413);
    expect(big.body.error.message).toBe(`request body is larger than ${64 * 1024} bytes`);
  });
});

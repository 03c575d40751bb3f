/**
 * The incident timeline is ordered by time everywhere (API, `keel incidents show`, postmortems),
 * even when an entry is recorded after a later one: here an alert whose source stamped it 1.5 s
 * before the incident it opened was recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.js';
import { keel } from '../../helpers/cli.js';
import { http, type TestKeel } from '../../helpers/keel.js';
import { applyOk, startPagingKeel, waitFor } from '../../helpers/paging.js';

const T0 = Date.parse('2026-03-02T09:00:00.372Z');
const clock = new FakeClock(T0);
let t: TestKeel;

beforeAll(async () => {
  t = await startPagingKeel({}, { clock });
  await applyOk(t, 'apiVersion: keel/v1\nkind: Service\nmetadata: {name: batch}\n');
});
afterAll(async () => t?.close());

describe('the incident timeline', () => {
  it('lists entries by time in the API, the CLI and the postmortem', async () => {
    await t.keel.ctx.alerts.signal({ tenant: 'default', dedupKey: 'late-1', source: 'heartbeat', status: 'firing', severity: 'page', summary: 'Nightly job missed', service: 'batch', at: T0 - 1500 });
    const inc = await waitFor('the incident', async () => ((await http(`${t.url}/v1/incidents?service=batch`, { key: t.adminKey })).body.incidents as any[])[0]);
    expect(inc.opened_at).toBe('2026-03-02T09:00:00.372Z');
    const timeline = (await http(`${t.url}/v1/incidents/${inc.id}/timeline`, { key: t.adminKey })).body.timeline as { at: string; type: string }[];
    expect(timeline.slice(0, 2).map((e) => `${e.at} ${e.type}`)).toEqual(['2026-03-02T08:59:58.872Z alert', '2026-03-02T09:00:00.372Z state']);
    const shown = await keel(['incidents', 'show', String(inc.number)], { url: t.url, key: t.adminKey });
    const lines = shown.stdout.split('\n').filter((l) => l.startsWith('2026-03-02T'));
    expect(lines[0]).toMatch(/^2026-03-02T08:59:58\.872Z  alert /);
    expect(lines[1]).toMatch(/^2026-03-02T09:00:00\.372Z  state /);
    clock.advance(60_000);
    expect((await http(`${t.url}/v1/incidents/${inc.id}/resolve`, { method: 'POST', key: t.adminKey })).status).toBe(200);
    const pm = await http(`${t.url}/v1/incidents/${inc.id}/postmortem`, { method: 'POST', key: t.adminKey });
    expect(pm.status, pm.text).toBe(201);
    const rows = (pm.body.markdown as string).split('\n').filter((l) => /^\| 2026-03-02T/.test(l));
    expect(rows[0]).toMatch(/^\| 2026-03-02T08:59:58(\.872)?Z \| integration:heartbeat \| Alert \[page\] Nightly job missed \|/);
    expect(rows[1]).toMatch(/^\| 2026-03-02T09:00:00(\.372)?Z \| integration:heartbeat \| Incident #1 opened/);
  });
});

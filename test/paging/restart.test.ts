import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnKeel, type KeelProcess } from '../../src/bench/spawn-keel.js';
import { http } from '../helpers/keel.js';
import { startReceiver, twoStepPaging, waitFor, webhookSecrets, type Receiver } from '../helpers/paging.js';

let rx: Receiver;
let dataDir: string;
let keel: KeelProcess | undefined;
const ADMIN = 'keel_restart_test_admin_key_0123456789';

async function start(): Promise<KeelProcess> {
  keel = await spawnKeel({ dataDir, adminKey: ADMIN });
  return keel;
}

const api = (path: string, init: Parameters<typeof http>[1] = {}) => http(`${keel!.url}${path}`, { key: ADMIN, ...init });

beforeAll(async () => {
  rx = await startReceiver();
  dataDir = mkdtempSync(join(tmpdir(), 'keel-restart-'));
  writeFileSync(join(dataDir, 'keel.yaml'), 'paging:\n  pollInterval: 50ms\n  delivery: {maxAttempts: 3, initialBackoff: 50ms, maxBackoff: 200ms}\n');
  await start();
  await webhookSecrets(keel!.url, ADMIN);
  const yaml = `${twoStepPaging(rx.url, '5s')}---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: ann-only}
spec:
  steps: [{notify: {users: [ann]}, wait: 1h}]
---
apiVersion: keel/v1
kind: Service
metadata: {name: slow}
spec: {escalationPolicy: two-steps}
---
apiVersion: keel/v1
kind: Service
metadata: {name: burst}
spec: {escalationPolicy: ann-only, alertGrouping: {by: [class]}}
`;
  const applied = await api('/v1/definitions/apply', { json: { sources: [{ file: 'restart.yaml', content: yaml }] } });
  expect(applied.status, applied.text).toBe(200);
});

afterAll(async () => {
  await keel?.stop('SIGKILL');
  await rx?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function key(service: string): Promise<string> {
  const r = await api('/v1/integrations', { json: { type: 'events-v2', service } });
  return r.body.key as string;
}

describe('paging survives kill -9', () => {
  it('a restart in the middle of a policy still fires the next step on time, once', async () => {
    const k = await key('slow');
    const r = await http(`${keel!.url}/v1/integrations/events-v2`, {
      json: { routing_key: k, event_action: 'trigger', dedup_key: 'slow-1', payload: { summary: 'Slow burn', source: 'x', severity: 'critical' } },
    });
    expect(r.status).toBe(202);
    const first = await waitFor('ann to be paged', () => rx.requests.find((x) => x.path === '/ann' && x.body.incident.title === 'Slow burn'));
    const incident = first.body.incident.id as string;
    const detail = await api(`/v1/incidents/${incident}`);
    const due = Date.parse(detail.body.escalation.next.at as string);
    expect(detail.body.escalation.next).toMatchObject({ pass: 0, step: 1 });

    await keel!.stop('SIGKILL');
    expect(Date.now()).toBeLessThan(due); // killed before the step was due
    await start();

    const ben = await waitFor('ben to be paged after the restart', () => rx.requests.find((x) => x.path === '/ben' && x.body.incident.id === incident), 30_000);
    expect(ben.at).toBeGreaterThanOrEqual(due);
    expect(ben.body.escalation).toEqual({ policy: 'two-steps', pass: 0, step: 1 });
    await new Promise((res) => setTimeout(res, 1500));
    const deliveries = (who: string) => new Set(rx.requests.filter((x) => x.path === `/${who}` && x.body.incident.id === incident).map((x) => x.headers['x-keel-delivery']));
    expect(deliveries('ben').size).toBe(1);
    expect(deliveries('ann').size).toBe(1);
    const tl = (await api(`/v1/incidents/${incident}/timeline?type=escalation`)).body.timeline as any[];
    expect(tl.map((e) => e.data.step)).toEqual([0, 1]);
  });

  it('every acknowledged alert opens exactly one incident and one page, whatever the kill interrupts', async () => {
    const k = await key('burst');
    const n = 25;
    const sent = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        http(`${keel!.url}/v1/integrations/events-v2`, {
          json: { routing_key: k, event_action: 'trigger', dedup_key: `b${i}`, payload: { summary: `Burst ${i}`, source: 'x', severity: 'critical', class: `c${i}` } },
        }),
      ),
    );
    expect(sent.every((s) => s.status === 202)).toBe(true);
    // Kill while paging is still working through the outbox.
    await keel!.stop('SIGKILL');
    await start();
    const incidents = await waitFor(
      'all incidents',
      async () => {
        const list = (await api('/v1/incidents?service=burst&state=all&limit=1000')).body.incidents as any[];
        return list.length >= n ? list : undefined;
      },
      30_000,
    );
    expect(incidents).toHaveLength(n);
    expect(new Set(incidents.map((i) => i.title)).size).toBe(n);
    await waitFor('every page', () => new Set(rx.requests.filter((x) => x.path === '/ann' && /^Burst/.test(x.body.incident.title)).map((x) => x.body.incident.id)).size === n, 30_000);
    for (const i of incidents) {
      const jobs = (await api(`/v1/incidents/${i.id}/notifications`)).body.notifications as any[];
      expect(jobs, i.title).toHaveLength(1);
      const alerts = (await api(`/v1/incidents/${i.id}`)).body.alerts as any[];
      expect(alerts.map((a) => a.count)).toEqual([1]);
    }
  });
});

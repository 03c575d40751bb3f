/**
 * Alerts about Keel raised by Keel, on a Keel of this process (real SQLite, real webhook receiver)
 * driven by a fake clock so the rules' `for` durations pass without waiting: a channel whose
 * notifications fail opens KeelNotificationChannelFailing after 10 minutes (critical: an incident
 * of the keel Service), a certificate expiring within 14 days raises KeelCertificateExpiring after
 * an hour (a warning: an alert without an incident), and both resolve once their cause is gone.
 * The data directory's filesystem (statfs injected, 4 KiB blocks) filling on the 6 h trend raises
 * KeelDataDiskFilling after 30 minutes (a warning); a disk as empty that does not fill does not.
 * A runbook run left waiting for a decision (its request sent, never answered) raises
 * KeelRunbookWaitingForDecision for its team after 10 minutes, shown in /metrics too.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { SelfAlerts } from '../../src/selfwatch/self-alerts.js';
import { CERTIFICATE_EXPIRING, DISK_FILLING, NOTIFICATION_CHANNEL_FAILING, RUNBOOK_WAITING_FOR_DECISION } from '../../src/selfwatch/thresholds.js';
import { http, type TestKeel } from '../helpers/keel.js';
import { applyOk, eventsV2, integrationKey, setSecret, startPagingKeel, startReceiver, userDoc, waitFor, type Receiver } from '../helpers/paging.js';

const work = mkdtempSync(join(tmpdir(), 'keel-self-alerts-'));
const cert = join(work, 'client.pem');
const key = join(work, 'client.key');
let t: TestKeel;
let rx: Receiver;
let clock: FakeClock;
let sk: string;

beforeAll(async () => {
  rx = await startReceiver();
  rx.status.set('/ann', 500);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '10', '-subj', '/CN=keel', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  clock = new FakeClock(Date.now());
  t = await startPagingKeel(
    {
      paging: { pollInterval: 25, delivery: { maxAttempts: 1, initialBackoff: 20, maxBackoff: 80, timeout: 2000 } },
      // A client certificate for PostgreSQL (unused by the embedded mode, still watched).
      postgres: { tls: { cert, key } },
      selfMonitoring: { checkInterval: '1h' },
    },
    { clock },
  );
  const r = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant: 'keel-system', scopes: ['admin'] } });
  sk = r.body.key as string;
  await setSecret(t, 'ann-hook', 'ann-secret');
  await applyOk(
    t,
    `${userDoc('ann', `${rx.url}/ann`)}
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: checkout}
spec: {steps: [{notify: {users: [ann]}, wait: 1h}]}
---
apiVersion: keel/v1
kind: Service
metadata: {name: checkout}
spec: {escalationPolicy: checkout}
`,
  );
}, 60_000);

afterAll(async () => {
  await t?.close();
  await rx?.close();
  rmSync(work, { recursive: true, force: true });
});

interface AlertView {
  dedup_key: string;
  status: string;
  severity: string;
  labels: Record<string, string>;
  paging: { service: string | null; incident_id: string | null } | null;
}

async function selfAlerts(): Promise<AlertView[]> {
  const r = await http(`${t.url}/v1/paging/alerts`, { key: sk });
  expect(r.status, r.text).toBe(200);
  return r.body.alerts;
}

describe('alerts about Keel raised by Keel', () => {
  it('a failing notification channel opens an incident of the keel service after 10 minutes; a near certificate expiry is a warning after an hour', async () => {
    const watcher = new SelfAlerts({ alerts: t.keel.ctx.alerts, store: t.keel.ctx.store, log: t.keel.ctx.log, clock, logger: t.keel.ctx.logger, config: t.keel.ctx.config });
    const covered = [NOTIFICATION_CHANNEL_FAILING, CERTIFICATE_EXPIRING];
    const routingKey = await integrationKey(t, 'events-v2', 'checkout');
    expect((await http(`${t.url}/v1/integrations/events-v2`, { json: eventsV2(routingKey) })).status).toBe(202);
    await waitFor('ann’s page to fail', () => rx.requests.some((r) => r.path === '/ann'));
    await waitFor('the notification recorded as failed', async () => {
      const rows = await t.keel.ctx.store.db.selectFrom('notification_jobs').select('status').execute();
      return rows.length > 0 && rows.every((r) => r.status === 'failed');
    });

    await watcher.report(await watcher.evaluate(), covered);
    expect(await selfAlerts()).toEqual([]);
    clock.advance(10 * 60_000);
    await watcher.report(await watcher.evaluate(), covered);
    // Under an hour: the certificate is still pending; the channel fires.
    const firing = await waitFor('the channel alert routed to an incident', async () => {
      const list = await selfAlerts();
      return list.length === 1 && list[0]!.paging?.incident_id ? list : undefined;
    });
    expect(firing[0]).toMatchObject({
      dedup_key: 'keel/KeelNotificationChannelFailing/webhook',
      status: 'firing',
      severity: 'critical',
      labels: { alertname: 'KeelNotificationChannelFailing', runbook_url: 'docs/runbooks/notification-channel-failing.md', instance: 'webhook' },
    });
    const incident = await http(`${t.url}/v1/incidents/${firing[0]!.paging!.incident_id}`, { key: sk });
    expect(incident.body.service).toBe('keel');

    clock.advance(50 * 60_000);
    await watcher.report(await watcher.evaluate(), covered);
    // An hour later: the failed notification left the 15-minute window (resolved); the certificate fires.
    const after = new Map((await selfAlerts()).map((a) => [a.dedup_key, a]));
    expect(after.get('keel/KeelNotificationChannelFailing/webhook')?.status).toBe('resolved');
    expect(after.get('keel/KeelCertificateExpiring/postgres_client')).toMatchObject({
      status: 'firing',
      severity: 'warning',
      labels: { alertname: 'KeelCertificateExpiring', runbook_url: 'docs/runbooks/certificate-expiry.md', instance: 'postgres_client' },
    });
    const processed = await waitFor('paging processed the certificate alert', async () => (await selfAlerts()).find((a) => a.dedup_key === 'keel/KeelCertificateExpiring/postgres_client')?.paging);
    expect(processed).toMatchObject({ service: 'keel', incident_id: null });
  }, 120_000);
});

describe('KeelDataDiskFilling raised by Keel', () => {
  const H = 3_600_000;
  const disk = { blocks: 1000, bsize: 4096, bavail: 0 };
  const watcher = () => new SelfAlerts({ alerts: t.keel.ctx.alerts, store: t.keel.ctx.store, log: t.keel.ctx.log, clock, logger: t.keel.ctx.logger, config: t.keel.ctx.config, statfs: () => disk });
  const diskAlert = async () => (await selfAlerts()).find((a) => a.dedup_key === 'keel/KeelDataDiskFilling');

  it('fires as a warning once under a quarter is free and the 6 h trend is full within a day for 30 minutes; resolves when space returns', async () => {
    // 20 % free and steady for three hours: little space, but not filling.
    const steady = watcher();
    disk.bavail = 200;
    for (let h = 0; h < 3; h++) {
      await steady.report(await steady.evaluate(), [DISK_FILLING]);
      clock.advance(H);
    }
    expect(await diskAlert()).toBeUndefined();

    // 22 %, then 21 %, then 20.5 % free: 10 blocks an hour, empty in about 20 h.
    const filling = watcher();
    disk.bavail = 220;
    await filling.report(await filling.evaluate(), [DISK_FILLING]);
    clock.advance(H);
    disk.bavail = 210;
    await filling.report(await filling.evaluate(), [DISK_FILLING]);
    // The condition holds from here; `for` is 30 minutes.
    expect(await diskAlert()).toBeUndefined();
    clock.advance(H / 2);
    disk.bavail = 205;
    await filling.report(await filling.evaluate(), [DISK_FILLING]);
    const firing = await waitFor('paging processed the disk alert', async () => {
      const a = await diskAlert();
      return a?.paging ? a : undefined;
    });
    expect(firing).toMatchObject({
      status: 'firing',
      severity: 'warning',
      labels: { alertname: 'KeelDataDiskFilling', runbook_url: 'docs/runbooks/disk-filling.md' },
      paging: { service: 'keel', incident_id: null },
    });

    // Old data deleted: 60 % free, the alert resolves.
    clock.advance(H / 2);
    disk.bavail = 600;
    await filling.report(await filling.evaluate(), [DISK_FILLING]);
    expect((await diskAlert())?.status).toBe('resolved');
  }, 60_000);
});

describe('KeelRunbookWaitingForDecision raised by Keel', () => {
  let silent: Server;
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const c of sockets) c.destroy();
    await new Promise((r) => silent?.close(r));
  });

  it('a run waiting 10 minutes for a person to decide about a step raises a warning for its team, counted in /metrics; a decision resolves it', async () => {
    // Accepts the step's request and never answers: the step times out after sending, so its outcome is unknown.
    silent = createServer((c) => void sockets.push(c));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const book = `apiVersion: keel/v1
kind: Runbook
metadata: {name: charge-again}
spec:
  steps:
    - name: charge
      http: {method: POST, url: "http://127.0.0.1:${port}/charge"}
      timeout: 1s
`;
    await applyOk(t, book);
    const started = await http(`${t.url}/v1/runbooks/charge-again/runs`, { key: t.adminKey, json: {} });
    expect(started.status, started.text).toBe(201);
    const id = started.body.id as string;
    const run = await waitFor('the run to wait for a decision', async () => {
      const r = await http(`${t.url}/v1/runbooks/runs/${id}`, { key: t.adminKey });
      return r.body.phase === 'unknown' ? r.body : undefined;
    });
    const tenant = 'default'; // the bootstrap admin key's team
    expect(run.steps[0]).toMatchObject({ status: 'unknown', attempts: 1 });
    const metrics = async () => (await http(`${t.url}/metrics`, { key: t.adminKey })).text;
    expect(await metrics()).toContain(`keel_runbook_runs_waiting{tenant="${tenant}",for="decision"} 1`);

    const watcher = new SelfAlerts({ alerts: t.keel.ctx.alerts, store: t.keel.ctx.store, log: t.keel.ctx.log, clock, logger: t.keel.ctx.logger, config: t.keel.ctx.config });
    const covered = [RUNBOOK_WAITING_FOR_DECISION];
    const key = `keel/KeelRunbookWaitingForDecision/${tenant}`;
    const alert = async () => (await selfAlerts()).find((a) => a.dedup_key === key);
    await watcher.report(await watcher.evaluate(), covered);
    clock.advance(9 * 60_000);
    await watcher.report(await watcher.evaluate(), covered);
    expect(await alert()).toBeUndefined();
    clock.advance(60_000);
    await watcher.report(await watcher.evaluate(), covered);
    const firing = await waitFor('paging processed the runbook alert', async () => {
      const a = await alert();
      return a?.paging ? a : undefined;
    });
    expect(firing).toMatchObject({
      status: 'firing',
      severity: 'warning',
      labels: { alertname: 'KeelRunbookWaitingForDecision', runbook_url: 'docs/runbooks/runbook-waiting.md', instance: tenant },
      paging: { service: 'keel', incident_id: null },
    });
    const detail = await http(`${t.url}/v1/paging/alerts?limit=100`, { key: sk });
    const summary = (detail.body.alerts as { dedup_key: string; summary: string }[]).find((a) => a.dedup_key === key)!.summary;
    expect(summary).toBe(`1 runbook run(s) of team ${tenant} wait for a person to retry, skip or abort a step whose outcome is unknown (${id})`);

    // A person decides: nothing waits, the alert resolves and the gauge is gone.
    expect((await http(`${t.url}/v1/runbooks/runs/${id}/decide`, { key: t.adminKey, json: { decision: 'abort' } })).status).toBe(200);
    await watcher.report(await watcher.evaluate(), covered);
    expect((await alert())?.status).toBe('resolved');
    expect(await metrics()).not.toContain('keel_runbook_runs_waiting{');
  }, 60_000);
});

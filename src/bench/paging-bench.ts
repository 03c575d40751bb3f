/**
 * `keel bench paging`: the paging hot path, end to end, against Keel in its own process on a
 * fresh data dir: PagerDuty Events v2 triggers in (each acknowledged only once durable), each
 * routed into its own incident, escalated, and delivered as a signed webhook to a local
 * receiver. Prints intake rate and latency, alert-to-page throughput and latency, beside the
 * machine's ceiling measured in the same run: durable SQLite commits per second on the same
 * disk (each alert costs a few commits: intake, the escalation step, the delivery record; see COMMITS_PER_ALERT).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Pool } from 'undici';
import { sampleCpu, threadCpuMs, type CpuGroups } from './cpu-accounting.js';
import { percentile } from './load.js';
import { spawnKeel } from './spawn-keel.js';

export interface PagingBenchOptions {
  alerts: number;
  /** Alerts sent one at a time first, each after the previous one paged: the latency of a lone alert. */
  single: number;
  /**
   * Alerts of an unmeasured storm before the measured one (0: none): a Keel that has run for a
   * while has compiled its hot paths, a fresh one pays for V8's compiler during its first storm
   * (about a fifth more CPU per alert on this machine).
   */
  warmup: number;
  concurrency: number;
  json: boolean;
  log: (line: string) => void;
}

export interface PagingBenchResult {
  single_alerts: number;
  warmup_alerts: number;
  single_alert_to_page_p50_ms: number;
  single_alert_to_page_p99_ms: number;
  alerts: number;
  concurrency: number;
  intake_per_s: number;
  intake_p50_ms: number;
  intake_p99_ms: number;
  pages_per_s: number;
  alert_to_page_p50_ms: number;
  alert_to_page_p99_ms: number;
  pages_received: number;
  duplicate_pages: number;
  failed_requests: number;
  ceiling_commits_per_s: number;
  commits_per_alert: number;
  ceiling_alerts_per_s: number;
  ratio: number;
  /**
   * CPU time (user + system, all threads) of the Keel process from the first storm alert sent
   * until its work for the storm settled, divided by the storm's alerts: the cost of paging one
   * alert, which a loaded machine stretches in time but does not change much (Linux only; 0 elsewhere).
   */
  keel_cpu_ms_per_alert: number;
  /** Keel's CPU during the storm, ms in all. */
  keel_cpu_ms: number;
  /** CPU of Keel's main thread (its event loop) per alert, from the first storm alert to the last page. */
  keel_main_thread_cpu_ms_per_alert: number;
  /** That thread's CPU over the storm's wall time (lower than the utilisation when it waits for a core or in fsync). */
  keel_event_loop_busy: number;
  /** Keel's event loop utilisation over the storm (`keel_event_loop_active_seconds_total`): near 1, the loop is what bounds the rate. */
  keel_event_loop_utilization: number;
  /** This process's CPU per alert over the same span: the bench's own sender and receiver, on the same cores. */
  bench_cpu_ms_per_alert: number;
  /** The whole machine's busy CPU over the storm's wall time, in cores (of `machine_cores`). */
  machine_busy_cores: number;
  machine_cores: number;
}

/**
 * Durable commits an alert that pages one person needs at least: its intake (acknowledged only
 * once durable), the escalation step that creates the page, and the delivery record. Routing
 * shares its commits among a group of alerts, so it is left out of the ceiling.
 */
export const COMMITS_PER_ALERT = 3;

/** Durable single-row commits per second (WAL, synchronous=FULL, as the state store runs). */
export function commitCeiling(dir: string, seconds: number): number {
  const db = new SQLite(join(dir, 'ceiling.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  const tx = db.transaction((v: string) => insert.run(v));
  const end = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    tx(`row ${n}`);
    n++;
  }
  db.close();
  return n / seconds;
}

function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Keel's `keel_event_loop_active_seconds_total`, from its public /metrics. */
async function eventLoopActiveSeconds(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^keel_event_loop_active_seconds_total ([0-9.e+-]+)$/m.exec(text);
  if (!m) throw new Error('keel_event_loop_active_seconds_total is missing from /metrics');
  return Number(m[1]);
}

/**
 * Keel's CPU ms once its work settled: the last page arrived before its delivery outcome was
 * recorded, so this waits until a quarter second passes with at most 20 ms of CPU (idle loops
 * and timers), 5 s at most.
 */
async function settledCpu(groups: CpuGroups): Promise<number> {
  let last = sampleCpu(groups).byLabel.keel!;
  const deadline = performance.now() + 5000;
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const now = sampleCpu(groups).byLabel.keel!;
    const busy = now - last;
    last = now;
    if (busy <= 20) break;
  }
  return last;
}

export async function benchPaging(o: PagingBenchOptions): Promise<PagingBenchResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'keel-bench-paging-'));
  const dataDir = join(scratch, 'data');
  o.log('measuring the ceiling: durable SQLite commits per second on this disk…');
  const commits = commitCeiling(scratch, 3);
  o.log(
    `ceiling: ${Math.round(commits).toLocaleString('en-US')} commits/s → about ${Math.round(commits / COMMITS_PER_ALERT).toLocaleString('en-US')} alerts/s at ${COMMITS_PER_ALERT} commits per alert`,
  );

  const sentAt = new Map<string, number>();
  const pageLatency: number[] = [];
  const deliveries = new Set<string>();
  let duplicates = 0;
  let lastPage = 0;
  let stormPages = 0;
  let warmPages = 0;
  const waiting = new Map<string, (at: number) => void>();
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = performance.now();
      const id = String(req.headers['x-keel-delivery']);
      if (deliveries.has(id)) duplicates++;
      else {
        deliveries.add(id);
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { incident: { title: string } };
        const lone = waiting.get(body.incident.title);
        if (lone) lone(now);
        else if (body.incident.title.startsWith('warm-up alert ')) warmPages++;
        else {
          const sent = sentAt.get(body.incident.title);
          if (sent !== undefined) pageLatency.push(now - sent);
          stormPages++;
          lastPage = now;
        }
      }
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  const closeReceiver = () => new Promise<void>((r) => receiver.close(() => r()));
  // A Keel that does not start must not leave the receiver listening (the bench would never exit).
  const keel = await spawnKeel({ dataDir, env: { KEEL_LOG_LEVEL: 'warn' } }).catch(async (err: unknown) => {
    await closeReceiver();
    rmSync(scratch, { recursive: true, force: true });
    throw err;
  });
  const pool = new Pool(keel.url, { connections: o.concurrency, pipelining: 1 });
  try {
    const admin = { authorization: `Bearer ${keel.adminKey}`, 'content-type': 'application/json' };
    const call = async (method: 'POST', path: string, body: unknown) => {
      const r = await pool.request({ method, path, headers: admin, body: JSON.stringify(body) });
      const text = await r.body.text();
      if (r.statusCode >= 300) throw new Error(`${method} ${path}: ${r.statusCode} ${text}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    await call('POST', '/v1/paging/secrets', { name: 'bench-hook', value: 'bench-signing-secret' });
    const yaml = `apiVersion: keel/v1
kind: User
metadata: {name: bench}
spec:
  email: bench@example.com
  name: Bench
  contactMethods: [{name: hook, type: webhook, url: "${receiverUrl}/page", signingSecret: bench-hook}]
---
apiVersion: keel/v1
kind: EscalationPolicy
metadata: {name: bench}
spec: {steps: [{notify: {users: [bench]}, wait: 1h}]}
---
apiVersion: keel/v1
kind: Service
metadata: {name: bench}
spec: {escalationPolicy: bench, alertGrouping: {by: [class]}}
`;
    await call('POST', '/v1/definitions/apply', { sources: [{ file: 'bench.yaml', content: yaml }] });
    const { key } = (await call('POST', '/v1/integrations', { type: 'events-v2', service: 'bench' })) as { key: string };

    // A lone alert: nothing queued ahead of it, so its latency is the pipeline's own.
    o.log(`keel pid ${keel.child.pid} at ${keel.url}; ${o.single} single alerts, each sent once the previous one paged…`);
    const single: number[] = [];
    for (let i = 0; i < o.single; i++) {
      const title = `single alert ${i}`;
      const paged = new Promise<number>((resolve) => waiting.set(title, resolve));
      const body = JSON.stringify({ routing_key: key, event_action: 'trigger', dedup_key: `s${i}`, payload: { summary: title, source: 'bench', severity: 'critical', class: `s${i}` } });
      const t0 = performance.now();
      const r = await pool.request({ method: 'POST', path: '/v1/integrations/events-v2', headers: { 'content-type': 'application/json' }, body });
      await r.body.text();
      if (r.statusCode !== 202) throw new Error(`single alert ${i}: HTTP ${r.statusCode}`);
      const at = await Promise.race([paged, new Promise<number>((_r, reject) => setTimeout(() => reject(new Error(`single alert ${i} did not page within 30 s`)), 30_000))]);
      single.push(at - t0);
    }
    single.sort((a, b) => a - b);
    o.log(`  single alert to page: p50 ${round(percentile(single, 50))} ms, p99 ${round(percentile(single, 99))} ms`);
    // One storm: `n` triggers over the pool's connections, each its own incident (class c<prefix><i>).
    const storm = async (n: number, title: (i: number) => string, onSent: (title: string, t0: number) => void) => {
      const intake: number[] = [];
      let failed = 0;
      let next = 0;
      const worker = async () => {
        for (;;) {
          const i = next++;
          if (i >= n) return;
          const t = title(i);
          const body = JSON.stringify({ routing_key: key, event_action: 'trigger', dedup_key: t, payload: { summary: t, source: 'bench', severity: 'critical', class: t } });
          const t0 = performance.now();
          onSent(t, t0);
          const r = await pool.request({ method: 'POST', path: '/v1/integrations/events-v2', headers: { 'content-type': 'application/json' }, body });
          await r.body.text();
          intake.push(performance.now() - t0);
          if (r.statusCode !== 202) failed++;
        }
      };
      await Promise.all(Array.from({ length: o.concurrency }, worker));
      return { intake, failed };
    };
    if (o.warmup > 0) {
      o.log(`warming up: a storm of ${o.warmup} alerts, not measured…`);
      const warm = await storm(
        o.warmup,
        (i) => `warm-up alert ${i}`,
        () => undefined,
      );
      const until = performance.now() + 120_000;
      while (warmPages < o.warmup - warm.failed && performance.now() < until) await new Promise((r) => setTimeout(r, 100));
      if (warmPages < o.warmup - warm.failed) throw new Error(`the warm-up storm paged ${warmPages} of ${o.warmup} alerts within 120 s`);
      // Its deliveries' outcomes are recorded just after the last page: let them settle first.
      await new Promise((r) => setTimeout(r, 1000));
    }
    o.log(`sending ${o.alerts} Events v2 triggers over ${o.concurrency} connections, each its own incident…`);
    const cpuGroups: CpuGroups = { pids: { keel: [keel.child.pid!] }, commands: {} };
    const before = sampleCpu(cpuGroups);
    const cpuBefore = before.byLabel.keel!;
    const mainBefore = threadCpuMs(keel.child.pid!);
    const loopBefore = await eventLoopActiveSeconds(keel.url);
    const start = performance.now();
    const { intake, failed } = await storm(
      o.alerts,
      (i) => `bench alert ${i}`,
      (title, t0) => sentAt.set(title, t0),
    );
    const intakeSeconds = (performance.now() - start) / 1000;
    o.log(`  intake done: ${Math.round(o.alerts / intakeSeconds).toLocaleString('en-US')} alerts/s acknowledged; waiting for the pages…`);
    const deadline = performance.now() + 300_000;
    let reported = 0;
    while (stormPages < o.alerts - failed && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      if (stormPages - reported >= o.alerts / 10) {
        reported = stormPages;
        o.log(`  ${stormPages.toLocaleString('en-US')} pages received`);
      }
    }
    const pageSeconds = ((lastPage || performance.now()) - start) / 1000;
    // The storm's span, up to now (the last page arrived a moment ago): where the CPU went.
    const after = sampleCpu(cpuGroups);
    const mainMs = threadCpuMs(keel.child.pid!) - mainBefore;
    const spanMs = after.at - before.at;
    const loopUtilization = ((await eventLoopActiveSeconds(keel.url)) - loopBefore) / ((performance.now() - start) / 1000);
    const keelCpuMs = (await settledCpu(cpuGroups)) - cpuBefore;
    intake.sort((a, b) => a - b);
    pageLatency.sort((a, b) => a - b);
    const pagesPerS = stormPages / pageSeconds;
    return {
      single_alerts: o.single,
      warmup_alerts: o.warmup,
      single_alert_to_page_p50_ms: round(percentile(single, 50)),
      single_alert_to_page_p99_ms: round(percentile(single, 99)),
      alerts: o.alerts,
      concurrency: o.concurrency,
      intake_per_s: Math.round(o.alerts / intakeSeconds),
      intake_p50_ms: round(percentile(intake, 50)),
      intake_p99_ms: round(percentile(intake, 99)),
      pages_per_s: Math.round(pagesPerS),
      alert_to_page_p50_ms: round(percentile(pageLatency, 50)),
      alert_to_page_p99_ms: round(percentile(pageLatency, 99)),
      pages_received: stormPages,
      duplicate_pages: duplicates,
      failed_requests: failed,
      ceiling_commits_per_s: Math.round(commits),
      commits_per_alert: COMMITS_PER_ALERT,
      ceiling_alerts_per_s: Math.round(commits / COMMITS_PER_ALERT),
      ratio: round(pagesPerS / (commits / COMMITS_PER_ALERT), 3),
      keel_cpu_ms_per_alert: round(keelCpuMs / o.alerts, 2),
      keel_cpu_ms: Math.round(keelCpuMs),
      keel_main_thread_cpu_ms_per_alert: round(mainMs / o.alerts, 2),
      keel_event_loop_busy: round(mainMs / spanMs, 2),
      keel_event_loop_utilization: round(loopUtilization, 2),
      bench_cpu_ms_per_alert: round((after.self - before.self) / o.alerts, 2),
      machine_busy_cores: round((after.machineBusy - before.machineBusy) / spanMs, 2),
      machine_cores: availableParallelism(),
    };
  } finally {
    await pool.close();
    await keel.stop('SIGTERM');
    await closeReceiver();
    rmSync(scratch, { recursive: true, force: true });
  }
}

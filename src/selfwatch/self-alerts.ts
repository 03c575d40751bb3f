/**
 * Keel raising the alerts about itself through its own alert pipeline (`ctx.alerts.signal`), in
 * the `keel-system` tenant and the built-in `keel` Service, so they route, open incidents and page
 * the configured escalation policy like any alert. Each carries its runbook page as the
 * `runbook_url` label, in `details` and as a link. The conditions and thresholds are those of the
 * exported Prometheus rules (thresholds.ts); they are evaluated by the leader of
 * `selfwatch-alerts` every `selfMonitoring.checkInterval` (the audit chain by the audit verifier).
 */
import { statfsSync } from 'node:fs';
import type { AlertService } from '../alerting/alert-service.js';
import type { Clock } from '../core/clock.js';
import type { KeelConfig } from '../core/config.js';
import type { EventLog } from '../log/event-log.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import { certificateExpiry, configuredCertificates } from './certificates.js';
import { SELF_SERVICE, SELF_TENANT, runbookUrl } from './definitions.js';
import { waitingRuns } from '../runbooks/waiting.js';
import {
  AUDIT_CHAIN_BROKEN,
  CERTIFICATE_EXPIRING,
  CONSUMER_LAG,
  DISK_FILLING,
  ForTracker,
  LEADER_LOST,
  NOTIFICATION_CHANNEL_FAILING,
  RUNBOOK_WAITING_FOR_DECISION,
  diskFilling,
  type SelfAlertRule,
} from './thresholds.js';

/** One evaluated condition: which alert, for what (a label value), whether it holds, and why. */
export interface Condition {
  rule: SelfAlertRule;
  /** Tells instances of one alert apart (a consumer, a channel, a certificate's use). */
  instance?: string;
  holds: boolean;
  summary: string;
  values?: Record<string, unknown>;
}

/** What the disk condition reads of a filesystem (as `statfs` gives it: counts of blocks). */
export interface FsSpace {
  blocks: number;
  bsize: number;
  bavail: number;
}

export class SelfAlerts {
  private readonly tracker = new ForTracker();
  /** Dedup keys this process saw firing, so it resolves them once their condition is gone. */
  private readonly firing = new Set<string>();
  private readonly diskSamples: { at: number; free: number }[] = [];

  constructor(
    private readonly deps: {
      alerts: AlertService;
      store: Store;
      log: EventLog;
      clock: Clock;
      logger: Logger;
      config: KeelConfig;
      /** The data directory's filesystem; injectable so a test can let it fill on a fake clock. */
      statfs?: (path: string) => FsSpace;
    },
  ) {}

  /**
   * Signals the conditions: firing once held for the rule's `for`, resolved once they no longer
   * hold. An alert of one of `covered` rules that fired and is no longer among the conditions (a
   * channel with no notification left in the window) resolves too.
   */
  async report(conditions: Condition[], covered: readonly SelfAlertRule[]): Promise<void> {
    const now = this.deps.clock.now();
    const seen = new Set(conditions.map((c) => this.keyOf(c)));
    for (const key of this.firing) {
      const rule = covered.find((r) => key === `keel/${r.alert}` || key.startsWith(`keel/${r.alert}/`));
      if (rule && !seen.has(key)) {
        const instance = key.slice(`keel/${rule.alert}/`.length) || undefined;
        conditions = [...conditions, { rule, ...(instance ? { instance } : {}), holds: false, summary: `${rule.alert} no longer holds` }];
      }
    }
    for (const c of conditions) {
      const key = this.keyOf(c);
      const fires = this.tracker.update(key, c.holds, c.rule.forMs, now);
      if (!fires && !this.firing.has(key)) continue;
      const runbook = runbookUrl(this.deps.config.selfMonitoring.runbookBaseUrl, c.rule.runbook);
      await this.deps.alerts.signal({
        tenant: SELF_TENANT,
        service: SELF_SERVICE,
        dedupKey: key,
        source: 'keel',
        status: fires ? 'firing' : 'resolved',
        severity: c.rule.severity,
        summary: c.summary,
        labels: { alertname: c.rule.alert, runbook_url: runbook, ...(c.instance ? { instance: c.instance } : {}) },
        details: { runbook_url: runbook, ...(c.values ?? {}) },
        links: [{ href: runbook, text: 'Runbook' }],
        ...(c.values ? { values: c.values } : {}),
      });
      if (fires) this.firing.add(key);
      else this.firing.delete(key);
    }
  }

  private keyOf(c: Condition): string {
    return `keel/${c.rule.alert}${c.instance ? `/${c.instance}` : ''}`;
  }

  /** The audit verifier's verdict (it runs on its own, slower, schedule). */
  auditChain(ok: boolean, problem: unknown): Condition {
    return {
      rule: AUDIT_CHAIN_BROKEN,
      holds: !ok,
      summary: ok ? "Keel's audit log verifies again" : "Keel's audit log does not verify: an entry was altered or removed (keel audit verify names the first one)",
      ...(ok ? {} : { values: { problem } }),
    };
  }

  /** Every other condition, read now. */
  async evaluate(): Promise<Condition[]> {
    const out: Condition[] = [];
    const parts: [string, () => Promise<Condition[]> | Condition[]][] = [
      ['certificates', () => this.certificates()],
      ['disk', () => this.disk()],
      ['consumer lag', () => this.consumerLag()],
      ['leaders', () => this.leaders()],
      ['notifications', () => this.notifications()],
      ['runbook runs', () => this.runbookDecisions()],
    ];
    for (const [what, fn] of parts) {
      try {
        out.push(...(await fn()));
      } catch (err) {
        // One unreadable source must not hide the others; its alert keeps its last state.
        this.deps.logger.warn({ err }, `self-monitoring could not check ${what}`);
      }
    }
    return out;
  }

  private certificates(): Condition[] {
    const now = this.deps.clock.now();
    return configuredCertificates(this.deps.config).map((c) => {
      const expires = certificateExpiry(c.path) * 1000;
      const holds = expires - now < CERTIFICATE_EXPIRING.expiresWithinMs;
      return {
        rule: CERTIFICATE_EXPIRING,
        instance: c.use,
        holds,
        summary: `The ${c.use} TLS certificate of Keel (${c.path}) expires ${new Date(expires).toISOString()}`,
        values: { certificate: c.path, expires_at: new Date(expires).toISOString() },
      };
    });
  }

  private disk(): Condition[] {
    if (this.deps.store.engine !== 'sqlite') return [];
    const now = this.deps.clock.now();
    const fs = (this.deps.statfs ?? statfsSync)(this.deps.config.dataDir);
    const size = fs.blocks * fs.bsize;
    const free = fs.bavail * fs.bsize;
    this.diskSamples.push({ at: now, free });
    while (this.diskSamples.length > 0 && this.diskSamples[0]!.at < now - DISK_FILLING.trendWindowMs) this.diskSamples.shift();
    return [
      {
        rule: DISK_FILLING,
        holds: diskFilling(this.diskSamples, size, now),
        summary: `The filesystem of Keel's data directory (${this.deps.config.dataDir}) fills within a day: ${free} of ${size} bytes free`,
        values: { free_bytes: free, size_bytes: size },
      },
    ];
  }

  private async consumerLag(): Promise<Condition[]> {
    const stats = await this.deps.log.stats();
    const lag = new Map<string, number>();
    for (const c of stats.consumers) lag.set(c.name, (lag.get(c.name) ?? 0) + c.lagEvents);
    return [...lag].map(([consumer, events]) => ({
      rule: CONSUMER_LAG,
      instance: consumer,
      holds: events > CONSUMER_LAG.lagEventsAbove,
      summary: `Keel's ${consumer} processor is ${events} events behind`,
      values: { lag_events: events },
    }));
  }

  /** Leaderships whose lease nobody renews (distributed mode; the embedded process leads all). */
  private async leaders(): Promise<Condition[]> {
    if (this.deps.store.engine !== 'postgres') return [];
    const now = this.deps.clock.now();
    const rows = await this.deps.store.db.selectFrom('leader_leases').select(['name', 'expires_at']).execute();
    return rows.map((r) => ({
      rule: LEADER_LOST,
      instance: r.name,
      holds: Number(r.expires_at) < now,
      summary: `No Keel evaluator holds the ${r.name} leadership`,
      values: { lease_expired_at: new Date(Number(r.expires_at)).toISOString() },
    }));
  }

  /** Per team, its runbook runs waiting for a decision about a step whose outcome is unknown. */
  private async runbookDecisions(): Promise<Condition[]> {
    const waiting = (await waitingRuns(this.deps.store.db)).filter((w) => w.for === 'decision');
    return waiting.map((w) => ({
      rule: RUNBOOK_WAITING_FOR_DECISION,
      instance: w.tenant,
      holds: true,
      summary: `${w.count} runbook run(s) of team ${w.tenant} wait for a person to retry, skip or abort a step whose outcome is unknown (${w.runs.join(', ')})`,
      values: { waiting_runs: w.count, runs: w.runs, waiting_since: new Date(w.since).toISOString() },
    }));
  }

  private async notifications(): Promise<Condition[]> {
    const since = this.deps.clock.now() - NOTIFICATION_CHANNEL_FAILING.windowMs;
    const rows = await this.deps.store.db
      .selectFrom('notification_jobs')
      .select(['channel', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('updated_at', '>=', since)
      .where('status', 'in', ['sent', 'failed', 'canceled'])
      .groupBy(['channel', 'status'])
      .execute();
    const by = new Map<string, { failed: number; total: number }>();
    for (const r of rows) {
      const c = by.get(r.channel) ?? { failed: 0, total: 0 };
      c.total += Number(r.n);
      if (r.status === 'failed') c.failed += Number(r.n);
      by.set(r.channel, c);
    }
    return [...by].map(([channel, c]) => ({
      rule: NOTIFICATION_CHANNEL_FAILING,
      instance: channel,
      holds: c.total > 0 && c.failed / c.total > NOTIFICATION_CHANNEL_FAILING.failedRatioAbove,
      summary: `Keel's ${channel} notifications are failing: ${c.failed} of ${c.total} failed after every retry in 15 minutes`,
      values: { failed: c.failed, total: c.total },
    }));
  }
}

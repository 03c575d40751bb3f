/** What the notification queue and the delivery worker are given, and the hooks they call. */
import type { Transaction } from 'kysely';
import type { Bus } from '../../core/bus.js';
import type { Clock } from '../../core/clock.js';
import type { SecretBox } from '../../core/secrets.js';
import type { AfterCommit } from '../../core/after-commit.js';
import type { PagingMetrics } from '../incidents/prometheus.js';
import type { Database } from '../../store/schema.js';
import type { Store } from '../../store/store.js';
import type { Logger } from '../../telemetry/logger.js';
import type { SecretStore } from './secret-store.js';
import type { SmtpSettingsStore } from './smtp-settings.js';
import type { NotificationJobsTable } from './tables.js';

export interface NotifyConfig {
  publicUrl: string;
  linkTtlMs: number;
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
  concurrency: number;
  pollIntervalMs: number;
}

export interface EscalationContext {
  policy: string;
  pass: number;
  step: number;
}

export interface NotifyHooks {
  /** In the transaction that marked the job failed for good. */
  deliveryFailed?(trx: Transaction<Database>, job: NotificationJobsTable, fx: AfterCommit): Promise<void>;
}

export interface NotifyDeps {
  store: Store;
  /** Seals the link-signing key. */
  box: SecretBox;
  clock: Clock;
  bus: Bus;
  logger: Logger;
  metrics: PagingMetrics;
  secrets: SecretStore;
  smtp: SmtpSettingsStore;
  config: NotifyConfig;
  newAfterCommit(): AfterCommit;
}

/**
 * What a domain module gets from the runtime: the adapters (behind their interfaces) and the
 * shared services. The runtime builds one per process for the embedded and the distributed mode
 * alike; domain modules never know which.
 */
import type { AnyRoute } from '../api/route.js';
import type { AlertService } from '../alerting/alert-service.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { ApiKeyService } from '../auth/api-keys.js';
import type { TenantService } from '../auth/tenants.js';
import type { DefinitionsService } from '../definitions/definitions-service.js';
import type { KindRegistry } from '../definitions/kinds.js';
import type { PeopleService } from '../people/people-service.js';
import type { EventLog } from '../log/event-log.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import type { KeelMetrics } from '../telemetry/metrics.js';
import type { ReadinessCheck } from '../telemetry/routes.js';
import type { Bus } from './bus.js';
import type { Clock } from './clock.js';
import type { KeelConfig } from './config.js';
import type { SealedColumns } from './sealed-columns.js';
import type { SecretKeyring } from './secret-keyring.js';
import type { SecretBox } from './secrets.js';

/** Which roles this process runs (the embedded default runs them all). */
export interface Roles {
  ingest: boolean;
  worker: boolean;
  evaluator: boolean;
  api: boolean;
}

export interface CoreContext {
  config: KeelConfig;
  logger: Logger;
  clock: Clock;
  store: Store;
  log: EventLog;
  bus: Bus;
  metrics: KeelMetrics;
  tenants: TenantService;
  keys: ApiKeyService;
  audit: AuditLog;
  people: PeopleService;
  alerts: AlertService;
  kinds: KindRegistry;
  definitions: DefinitionsService;
  /** Seals secrets before they are stored (AES-256-GCM); never log what it opens. */
  secrets: SecretBox;
  /** Register every column that holds `secrets.seal` output here, so rotation re-encrypts it. */
  sealed: SealedColumns;
  /** Where the sealing keys come from; rotation generates and retires keys through it. */
  keyring: SecretKeyring;
  roles: Roles;
  /**
   * Runs `fn` only while this process holds the named leadership (evaluator, scheduler): the
   * embedded default always does; the distributed mode takes a PostgreSQL advisory lock.
   */
  whileLeader(name: string, fn: () => Promise<void>): void;
}

/** A domain's contribution to a running Keel: its routes, background work and readiness checks. */
export interface KeelModule {
  name: string;
  routes?: AnyRoute[];
  readiness?: ReadinessCheck[];
  /** Starts background work (processors, evaluators); called once after every module is built. */
  start?(): Promise<void>;
  /** Stops background work; called before the adapters close. */
  stop?(): Promise<void>;
}

/**
 * What a domain module gets from the runtime: the adapters (behind their interfaces) and the
 * shared services. The runtime builds one per process for the embedded and the distributed mode
 * alike; domain modules never know which.
 */
import type { Kysely, Transaction } from 'kysely';
import type { AnyRoute } from '../api/route.js';
import type { AlertService } from '../alerting/alert-service.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { ApiKeyService } from '../auth/api-keys.js';
import type { TenantService } from '../auth/tenants.js';
import type { DefinitionsService } from '../definitions/definitions-service.js';
import type { KindRegistry } from '../definitions/kinds.js';
import type { PeopleService } from '../people/people-service.js';
import type { EventLog } from '../log/event-log.js';
import type { Database, DbFence } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import type { KeelMetrics } from '../telemetry/metrics.js';
import type { ReadinessCheck } from '../telemetry/routes.js';
import type { Bus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import type { KeelConfig } from '../core/config.js';
import type { SealedColumns } from '../core/sealed-columns.js';
import type { SecretKeyring } from '../core/secret-keyring.js';
import type { SecretBox } from '../core/secrets.js';

/** Which roles this process runs (the embedded default runs them all). */
export interface Roles {
  ingest: boolean;
  worker: boolean;
  evaluator: boolean;
  api: boolean;
}

/** Given to leader-only work (see `whileLeader`). */
export interface LeaderLease {
  /** Aborts when the leadership is lost (lock or connection gone) or the process stops: return then. */
  readonly signal: AbortSignal;
  /** Who holds it: the process id recorded in `leader_tenures`. */
  readonly holder: string;
  /**
   * Throws unless this process still holds the leadership, checked on `db`: call it inside the
   * transaction whose writes must never come from a deposed leader (fencing).
   */
  assertHeld(db?: Kysely<Database> | Transaction<Database>): Promise<void>;
}

/** The lease as the fence leader-only work checks first in each transaction (a deposed leader commits nothing). */
export function fenceOf(lease: LeaderLease): DbFence {
  return (trx) => lease.assertHeld(trx);
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
   * embedded default always does; the distributed mode takes a PostgreSQL advisory lock, and only
   * processes with the evaluator role compete for it. `fn` is the leader's loop: it must return
   * when `lease.signal` aborts, and fence its writes with `lease.assertHeld(trx)`. If it throws
   * it is started again after a pause; when the leadership moves, the new holder starts its own.
   */
  whileLeader(name: string, fn: (lease: LeaderLease) => Promise<void>): void;
}

/** One line of `keel doctor` (GET /v1/doctor): ok, warn (works, but not as production needs), fail. */
export interface DoctorCheck {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  message: string;
}

/** A domain's contribution to a running Keel: its routes, background work and readiness checks. */
export interface KeelModule {
  name: string;
  routes?: AnyRoute[];
  /**
   * Whether a process without the api role serves these routes too (health, metrics, ingest);
   * other modules' routes are served by api processes only.
   */
  servedByEveryRole?: boolean;
  readiness?: ReadinessCheck[];
  /** Checks the domain adds to `keel doctor`. */
  doctor?(): Promise<DoctorCheck[]>;
  /** Starts background work (processors, evaluators); called once after every module is built. */
  start?(): Promise<void>;
  /** Stops background work; called before the adapters close. */
  stop?(): Promise<void>;
}

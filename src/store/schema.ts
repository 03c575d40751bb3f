/**
 * The state database's tables, as kysely types. Each domain declares its own tables next to its
 * code; this interface only composes them. Timestamps are epoch milliseconds (bigint in
 * PostgreSQL, read back as numbers), booleans are 0/1, structured values are JSON text, so one
 * migration set serves SQLite and PostgreSQL alike.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Fence } from '../core/after-commit.js';
import type { AlertingTables } from '../alerting/tables.js';
import type { AuditTables } from '../audit/tables.js';
import type { AuthTables } from '../auth/tables.js';
import type { BackupTables } from '../backup/tables.js';
import type { DefinitionTables } from '../definitions/tables.js';
import type { EscalationTables } from '../paging/escalation/tables.js';
import type { IncidentTables } from '../paging/incidents/tables.js';
import type { IntegrationTables } from '../paging/integrations/tables.js';
import type { NotifyTables } from '../paging/notify/tables.js';
import type { OncallTables } from '../paging/oncall/tables.js';
import type { CapacityTables } from '../capacity/tables.js';
import type { ClusterTables } from '../cluster/tables.js';
import type { JetStreamLogTables } from '../log/jetstream/tables.js';
import type { PeopleTables } from '../people/tables.js';
import type { ProcessingTables } from '../processing/tables.js';
import type { RoutingTables } from '../paging/routing/tables.js';
import type { RunbookTables } from '../runbooks/tables.js';
import type { SloTables } from '../slo/tables.js';

export interface Database
  extends AuthTables, AuditTables, DefinitionTables, AlertingTables, ProcessingTables, PeopleTables, BackupTables, SloTables, ClusterTables, JetStreamLogTables, CapacityTables {}

/** Paging and incidents (issue 4). */
export interface Database extends RoutingTables, IncidentTables, EscalationTables, NotifyTables, OncallTables, IntegrationTables {}

/** What a query function runs on: the store's connection or a transaction it is part of. */
export type Db = Kysely<Database> | Transaction<Database>;
/** The fence of leader-only work (`core/after-commit.ts`) on Keel's schema. */
export type DbFence = Fence<Transaction<Database>>;
/** Runbooks as code (issue 13). */
export interface Database extends RunbookTables {}

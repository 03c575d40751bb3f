/**
 * The shape of a part of the paging area (incidents/, notify/, oncall/, escalation/, routing/,
 * integrations/): its `build.ts` makes the part's services from the area's shared pieces and the
 * parts it depends on, and returns what `module.ts` registers. Types only: parts import them
 * without depending on the area's wiring at run time.
 */
import type { AnyRoute } from '../api/route.js';
import type { AfterCommit } from '../core/after-commit.js';
import type { SealedColumn } from '../core/sealed-columns.js';
import type { KindHandler } from '../definitions/kinds.js';
import type { CoreContext } from '../module/context.js';
import type { DbFence } from '../store/schema.js';
import type { ResourceOptions } from './definition-routes.js';
import type { PagingMetrics } from './incidents/prometheus.js';

/** What every part is built from: the core context and the area's shared pieces. */
export interface PagingBase {
  ctx: CoreContext;
  /** The area's Prometheus metrics (gauges filled by the scrape, counters by the parts). */
  metrics: PagingMetrics;
  /** Keel's public URL without a trailing slash, for links in pages and feed URLs. */
  publicUrl(): string;
  newAfterCommit(): AfterCommit;
}

/** Leader-only work of a part: runs while this process leads `paging`, every transaction fenced. */
export interface PagingLoop {
  run(fence: DbFence): void;
  /** Ends the running tenure and waits for its last round. */
  stop(): Promise<void>;
}

/** What a part gives the area's module to register. */
export interface PagingPart {
  /** Definition kinds the part owns. */
  kinds?: KindHandler[];
  /** REST resources over those kinds (`definitionResource`: the same validation as `keel apply`). */
  resources?: ResourceOptions[];
  routes?: AnyRoute[];
  loops?: PagingLoop[];
  /** Columns holding sealed secrets, so key rotation re-encrypts them and reports list them. */
  sealed?: SealedColumn[];
}

/**
 * The operations routes about the deployment itself: `keel doctor` in both modes and, in the
 * distributed mode, the cluster's processes and leaderships. Each mode says what it knows.
 */
import type { CoreContext, KeelModule } from '../module/context.js';
import type { DoctorFacts } from './doctor-checks.js';
import { currentLeaders, leaderTenures, listMembers } from './membership.js';
import { clusterRoutes, doctorRoutes } from './routes.js';

export interface ClusterWiring {
  /** What `keel doctor` checks (embedded: the SQLite log; distributed: NATS and PostgreSQL). */
  facts: () => Promise<DoctorFacts>;
  /** The JetStream layout, when this is the distributed mode (adds GET /v1/cluster). */
  stream?: { partitions: number; stream: string; subjectPrefix: string };
}

/** `modules`: every module of this process, read when `keel doctor` runs (their `doctor` checks). */
export function clusterModule(ctx: CoreContext, w: ClusterWiring, modules: () => KeelModule[]): KeelModule {
  return {
    name: 'cluster',
    routes: [
      ...doctorRoutes({ facts: w.facts, moduleChecks: async () => (await Promise.all(modules().map((m) => m.doctor?.() ?? []))).flat() }),
      ...(w.stream
        ? clusterRoutes({
            reads: { members: () => listMembers(ctx.store), leaders: () => currentLeaders(ctx.store), tenures: (f) => leaderTenures(ctx.store, f) },
            ...w.stream,
          })
        : []),
    ],
  };
}

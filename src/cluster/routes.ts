/** GET /v1/doctor (durability and health checks) and GET /v1/cluster (processes and leaders). */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../api/route.js';
import type { DoctorCheck } from '../module/context.js';
import { doctorChecks, type DoctorFacts } from './doctor-checks.js';
import type { Member, Tenure } from './membership.js';

/** What the cluster routes read (cluster/membership.ts, bound to the store by cluster/module.ts). */
export interface ClusterReads {
  members(): Promise<Member[]>;
  leaders(): Promise<{ name: string; holder: string; since: number; beatAt: number }[]>;
  tenures(filter: { name?: string | undefined; limit: number }): Promise<Tenure[]>;
}

const checkSchema = z.object({ name: z.string(), status: z.enum(['ok', 'warn', 'fail']), message: z.string() });

/** `moduleChecks`: what the domains add to `keel doctor` (KeelModule.doctor), gathered by the caller. */
export function doctorRoutes(deps: { facts: () => Promise<DoctorFacts>; moduleChecks?: () => Promise<DoctorCheck[]> }): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/doctor',
      summary: 'Check what production needs: durability settings of NATS and PostgreSQL, live roles',
      description: 'Each check is ok, warn (works, but not production-safe, e.g. a NATS server without `sync_interval: always`) or fail (broken now). `status` is the worst of them.',
      tags: ['operations'],
      permission: 'system:read',
      query: z.object({}).strict(),
      responses: [{ status: 200, description: 'Checks', schema: z.object({ mode: z.string(), status: z.enum(['ok', 'warn', 'fail']), checks: z.array(checkSchema) }) }],
      handler: async () => {
        const facts = await deps.facts();
        const checks = [...doctorChecks(facts), ...((await deps.moduleChecks?.()) ?? [])];
        const status = checks.some((c) => c.status === 'fail') ? 'fail' : checks.some((c) => c.status === 'warn') ? 'warn' : 'ok';
        return { mode: facts.mode, status, checks };
      },
    }),
  ];
}

export function clusterRoutes(deps: { reads: ClusterReads; partitions: number; stream: string; subjectPrefix: string }): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/cluster',
      summary: 'The processes of this Keel cluster, their roles, and who leads what',
      tags: ['operations'],
      permission: 'system:read',
      query: z.object({}).strict(),
      responses: [{ status: 200, description: 'Members and leaders' }],
      handler: async () => {
        const [members, leaders] = await Promise.all([deps.reads.members(), deps.reads.leaders()]);
        return {
          stream: deps.stream,
          subjects: `${deps.subjectPrefix}.<partition>.<tenant>`,
          partitions: deps.partitions,
          members: members.map((m) => ({ ...m, startedAt: new Date(m.startedAt).toISOString(), seenAt: new Date(m.seenAt).toISOString() })),
          leaders: leaders.map((l) => ({ ...l, since: new Date(l.since).toISOString(), beatAt: new Date(l.beatAt).toISOString() })),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/cluster/leaders',
      summary: 'Who held each leadership when (tenures, newest first)',
      description: 'A tenure runs from winning the lock to its end (a clean stop) or its last heartbeat (a crash). Tenures of one leadership never overlap.',
      tags: ['operations'],
      permission: 'system:read',
      query: z
        .object({
          name: z.string().max(100).optional().describe('One leadership, e.g. usage-retention.'),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        })
        .strict(),
      responses: [{ status: 200, description: 'Tenures' }],
      handler: async ({ query }) => {
        return { tenures: await deps.reads.tenures({ name: query.name, limit: query.limit }) };
      },
    }),
  ];
}

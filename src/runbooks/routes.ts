/** HTTP routes of runbooks: start (or dry-run) a run, list and show runs, approve, decide, abort, toil. */
import { z } from 'zod';
import { defineRoute, SENT, type AnyRoute } from '../api/route.js';
import type { Clock } from '../core/clock.js';
import { timeParam, timeText } from '../core/time-input.js';
import type { LiveOutput, RunRecord, RunService } from './runs.js';
import { runDetailSchema, runListSchema, runSchema, toilLedgerSchema } from './schemas.js';
import type { ToilService } from './toil.js';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/**
 * The output so far of a step that is running, or of its attempt a stopped process left behind
 * (the step is then `unknown`, waiting for a person, or `pending`, waiting for its rerun: partial).
 * Every recorded change but a recovery clears it, so once the step's result is recorded (or a
 * person decided, or the rerun started) only what came after shows.
 */
function liveOutputOf(r: RunRecord, s: RunRecord['state']['steps'][number]): LiveOutput | null {
  const live = r.live;
  if (!live || live.step !== s.name || live.attempt !== s.attempts) return null;
  return s.status === 'running' || s.status === 'unknown' || s.status === 'pending' ? live : null;
}

export function runView(r: RunRecord) {
  const current = r.state.steps[r.state.step];
  const approval = r.spec.steps[r.state.step]?.approval;
  return {
    id: r.id,
    runbook: r.runbook,
    runbook_version: r.runbookVersion,
    status: r.state.status,
    phase: r.state.phase,
    outcome: r.state.outcome,
    error: r.state.error,
    current_step: current?.name ?? null,
    // Who may decide the approval the run waits on (the console shows its buttons to them).
    approval:
      r.state.phase === 'approval' && approval
        ? { step: current?.name ?? null, users: approval.users, role: approval.role ?? null, message: approval.message ?? null, expires_at: iso(r.state.deadline) }
        : null,
    trigger: r.trigger,
    actor: r.actor,
    params: r.params,
    incident: r.context.incident ? { id: r.context.incident.id, number: r.context.incident.number } : null,
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
    finished_at: iso(r.finishedAt),
    steps: r.state.steps.map((s) => {
      const live = liveOutputOf(r, s);
      return {
        name: s.name,
        status: s.status,
        attempts: s.attempts,
        started_at: iso(s.startedAt),
        finished_at: iso(s.finishedAt),
        ...(s.output !== undefined ? { output: s.output } : {}),
        ...(live ? { live_output: { stdout: live.stdout, stderr: live.stderr, updated_at: iso(live.at)! } } : {}),
        ...(s.error ? { error: s.error } : {}),
      };
    }),
  };
}

const paramValue = z.union([z.string().max(1000), z.number(), z.boolean()]);
const idParams = z.object({ id: z.string().min(1).max(64) }).strict();

export function runbookRoutes(deps: { runs: RunService; toil: ToilService; clock: Clock; wake: () => void }): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/runbooks/:name/runs',
      summary: 'Start a run of a runbook (or, with dry_run, show every step resolved without running it)',
      tags: ['runbooks'],
      permission: 'runbooks:run',
      auditExempt: 'the run and each of its steps are audited (runbooks.*) in the transactions that journal them',
      params: z.object({ name: z.string().min(1).max(128) }).strict(),
      body: z
        .object({
          params: z.record(z.string().max(63), paramValue).default({}),
          dry_run: z.boolean().default(false),
          incident: z.string().min(1).max(64).optional().describe('Incident number or id the run is tied to (templates read it; steps go on its timeline)'),
        })
        .strict()
        .prefault({}),
      responses: [
        { status: 201, description: 'The run, started', schema: runSchema },
        { status: 200, description: 'The dry run: each step resolved' },
        { status: 400, description: 'Invalid parameters (each named params.NAME)' },
        { status: 404, description: 'No such runbook or incident' },
      ],
      handler: async ({ params, body, principal, reply }) => {
        const input = {
          tenant: principal.tenant,
          runbook: params.name,
          params: body.params,
          actor: principal.actor,
          trigger: 'manual' as const,
          ...(body.incident ? { incident: body.incident } : {}),
        };
        if (body.dry_run) {
          const dry = await deps.runs.dryRun(input);
          // Nothing was created: 200, sent here because the route's first answer is the 201.
          void reply.code(200).send({ dry_run: true, ...dry });
          return SENT;
        }
        const run = await deps.runs.start(input);
        deps.wake();
        return runView(run);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/runbooks/runs',
      summary: 'Runs, newest first',
      tags: ['runbooks'],
      permission: 'runbooks:read',
      query: z
        .object({
          runbook: z.string().max(128).optional(),
          status: z.enum(['queued', 'running', 'waiting', 'succeeded', 'failed', 'aborted']).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        })
        .strict(),
      responses: [{ status: 200, description: 'Runs', schema: runListSchema }],
      handler: async ({ query, principal }) => ({
        runs: (await deps.runs.list(principal.tenant, { ...(query.runbook ? { runbook: query.runbook } : {}), ...(query.status ? { status: [query.status] } : {}), limit: query.limit })).map(runView),
      }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/runbooks/runs/:id',
      summary: 'One run: its steps, outputs (secrets redacted) and journal',
      tags: ['runbooks'],
      permission: 'runbooks:read',
      params: idParams,
      responses: [
        { status: 200, description: 'The run', schema: runDetailSchema },
        { status: 404, description: 'No such run' },
      ],
      handler: async ({ params, principal }) => {
        const run = await deps.runs.find(principal.tenant, params.id);
        const journal = await deps.runs.journal(principal.tenant, params.id);
        return { ...runView(run), journal: journal.map((j) => ({ seq: j.seq, at: iso(j.at), step: j.step, event: j.event, actor: j.actor, data: j.data })) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/runbooks/runs/:id/approve',
      summary: 'Approve (or reject) the approval step a run waits on',
      tags: ['runbooks'],
      permission: 'runbooks:approve',
      auditExempt: 'the approval is audited (runbooks.approval.*) in the transaction that records it',
      params: idParams,
      body: z
        .object({ approve: z.boolean().default(true), reason: z.string().max(2000).optional() })
        .strict()
        .prefault({}),
      responses: [
        { status: 200, description: 'The run after the decision', schema: runSchema },
        { status: 403, description: 'The step names other approvers' },
        { status: 409, description: 'The run is not waiting for an approval' },
      ],
      handler: async ({ params, body, principal }) => {
        const run = await deps.runs.approve(principal.tenant, params.id, principal, body.approve, body.reason);
        deps.wake();
        return runView(run);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/runbooks/runs/:id/decide',
      summary: 'Decide about a step whose outcome is unknown (after a crash or a timeout): retry it, skip it, or abort the run',
      tags: ['runbooks'],
      permission: 'runbooks:approve',
      auditExempt: 'the decision is audited (runbooks.step.retry/skip/abort) in the transaction that records it',
      params: idParams,
      body: z.object({ decision: z.enum(['retry', 'skip', 'abort']) }).strict(),
      responses: [
        { status: 200, description: 'The run after the decision', schema: runSchema },
        { status: 409, description: 'No step of the run has an unknown outcome' },
      ],
      handler: async ({ params, body, principal }) => {
        const run = await deps.runs.decide(principal.tenant, params.id, body.decision, principal.actor);
        deps.wake();
        return runView(run);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/runbooks/runs/:id/abort',
      summary: 'Abort a run (a step already running is not interrupted; its result is recorded and ignored)',
      tags: ['runbooks'],
      permission: 'runbooks:run',
      auditExempt: 'the abort is audited (runbooks.run.aborted) in the transaction that records it',
      params: idParams,
      body: z
        .object({ reason: z.string().max(2000).optional() })
        .strict()
        .prefault({}),
      responses: [
        { status: 200, description: 'The run, aborted', schema: runSchema },
        { status: 409, description: 'The run already ended' },
      ],
      handler: async ({ params, body, principal }) => runView(await deps.runs.abort(principal.tenant, params.id, principal.actor, body.reason)),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/runbooks/toil',
      summary: 'The toil ledger: manual runs, hand-approved steps and time people spent waiting, per runbook, ranked as candidates for automation',
      tags: ['runbooks'],
      permission: 'runbooks:read',
      query: z.object({ since: timeText.optional().describe('From (RFC 3339, date, epoch ms, now-24h or 30d); default 30 days ago.') }).strict(),
      responses: [{ status: 200, description: 'The ledger', schema: toilLedgerSchema }],
      handler: async ({ query, principal }) => {
        const now = deps.clock.now();
        const since = timeParam('since', query.since, now - 30 * 86_400_000, now);
        return deps.toil.ledger(principal.tenant, since, now);
      },
    }),
  ];
}

/**
 * What the runbook routes answer, as zod schemas: the OpenAPI description documents them, the CLI
 * infers its types from them, and every test runs with `server.checkResponses`, so an answer that
 * drifts from its schema is a 500. Shapes follow `routes.ts` (runView), `run-machine.ts` (the
 * statuses and phases) and `toil.ts` (ToilRow).
 */
import { z } from 'zod';

const time = z.string().describe('RFC 3339');

export const runStepSchema = z
  .object({
    name: z.string(),
    status: z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped', 'unknown']),
    attempts: z.number().int(),
    started_at: time.nullable(),
    finished_at: time.nullable(),
    output: z.unknown().optional().describe('What the step produced (secrets redacted)'),
    live_output: z
      .object({ stdout: z.string(), stderr: z.string(), updated_at: time })
      .strict()
      .optional()
      .describe(
        'A command step that is running, or whose attempt was interrupted by a stop (the step is then unknown, waiting for a person, or pending, waiting for its rerun: the output is partial): what it printed so far, secrets redacted and bounded as its output; recorded at most once a second, replaced by output when the step ends, cleared by a decision',
      ),
    error: z.string().optional(),
  })
  .strict();

export const runSchema = z
  .object({
    id: z.string(),
    runbook: z.string(),
    runbook_version: z.number().int(),
    status: z.enum(['queued', 'running', 'waiting', 'succeeded', 'failed', 'aborted']),
    phase: z.enum(['ready', 'started', 'backoff', 'approval', 'unknown', 'waiting', 'verifying', 'done']),
    outcome: z.enum(['succeeded', 'failed', 'aborted', 'verified', 'not_verified']).nullable(),
    error: z.string().nullable(),
    current_step: z.string().nullable().describe('Null while verifying and once done'),
    approval: z
      .object({
        step: z.string().nullable(),
        users: z.array(z.string()).describe('E-mail addresses of the people who may approve'),
        role: z.enum(['responder', 'editor', 'admin']).nullable().describe('Or anyone holding at least this team role'),
        message: z.string().nullable(),
        expires_at: time.nullable(),
      })
      .strict()
      .nullable()
      .describe('The approval the run waits on, and who may decide it; null when it waits on none'),
    trigger: z.enum(['manual', 'alert', 'incident', 'schedule']),
    actor: z.string(),
    params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    incident: z.object({ id: z.string(), number: z.number().int() }).strict().nullable(),
    created_at: time,
    updated_at: time,
    finished_at: time.nullable(),
    steps: z.array(runStepSchema),
  })
  .strict();

export const runListSchema = z.object({ runs: z.array(runSchema) }).strict();

export const journalEntrySchema = z
  .object({
    seq: z.number().int(),
    at: time,
    step: z.string().nullable(),
    event: z.string().describe('e.g. run.created, step.succeeded, approval.approved'),
    actor: z.string(),
    data: z.record(z.string(), z.unknown()),
  })
  .strict();

export const runDetailSchema = runSchema.extend({ journal: z.array(journalEntrySchema) }).strict();

export const toilLedgerSchema = z
  .object({
    from: time,
    to: time,
    runbooks: z
      .array(
        z
          .object({
            runbook: z.string(),
            team: z.string(),
            runs: z.number().int(),
            manual_runs: z.number().int(),
            automatic_runs: z.number().int(),
            succeeded: z.number().int(),
            failed: z.number().int().describe('Failed or aborted'),
            hand_approved_steps: z.number().int(),
            person_decisions: z.number().int().describe('Retry, skip or abort of a step whose outcome was unknown'),
            waiting_seconds: z.number().int().describe('Time approval steps waited for a person'),
            score: z.number().int().describe('Higher: more to gain from automating further'),
          })
          .strict(),
      )
      .describe('Best candidates for automation first'),
  })
  .strict();

export type RunAnswer = z.infer<typeof runSchema>;
export type RunStepAnswer = z.infer<typeof runStepSchema>;
export type RunListAnswer = z.infer<typeof runListSchema>;
export type RunDetailAnswer = z.infer<typeof runDetailSchema>;
export type ToilLedgerAnswer = z.infer<typeof toilLedgerSchema>;

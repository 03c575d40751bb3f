/**
 * The `keel/v1 Runbook` document: typed parameters, ordered steps (http, command, keel, wait,
 * approval, condition) each with a timeout, retries with backoff and whether it is safe to repeat,
 * an optional `verify`, and triggers. `checkRunbook` refuses what cannot run: unknown parameters,
 * steps or fields in templates and CEL, skips to unknown or earlier steps. Pure.
 */
import { STEP_KINDS, type StepKind } from './step-kinds.js';
import { z } from 'zod';
import { analyzeCel } from '../cel/compile.js';
import { parseDurationMs } from '../core/time.js';
import type { FieldError } from '../definitions/kinds.js';
import { scheduleProblem } from './schedule.js';
import { checkPath, references, type TemplateScope } from './templates.js';

function durationBetween(minMs: number, maxMs: number, example: string) {
  return z.string().refine(
    (v) => {
      const ms = parseDurationMs(v);
      return Number.isFinite(ms) && ms >= minMs && ms <= maxMs;
    },
    `a duration from ${fmt(minMs)} to ${fmt(maxMs)}, e.g. ${example}`,
  );
}
function fmt(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const NAME = z.string().regex(/^[a-z0-9]([a-z0-9_-]{0,62})$/, 'lower-case letters, digits, "-" or "_", at most 63 characters');
const text = (max: number) => z.string().max(max);

const parameterSchema = z
  .object({
    type: z.enum(['string', 'number', 'bool', 'enum']),
    description: text(500).optional(),
    required: z.boolean().default(false),
    default: z.union([z.string().max(1000), z.number(), z.boolean()]).optional(),
    values: z.array(z.string().min(1).max(200)).min(1).max(100).optional(),
  })
  .strict();

const httpSchema = z
  .object({
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET'),
    url: text(2000),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'a header name'), text(4000)).default({}),
    body: text(64 * 1024).optional(),
    /** Statuses that count as success (by default every 2xx). */
    expectStatus: z.array(z.number().int().min(100).max(599)).min(1).max(20).optional(),
  })
  .strict();

const commandSchema = z
  .object({
    /** argv[0] must be on the deployment's allow-list (`runbooks.commands` in keel.yaml); no shell. */
    argv: z.array(text(4000)).min(1).max(100),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,100}$/, 'an environment variable name'), text(4000)).default({}),
  })
  .strict();

export const KEEL_ACTIONS = [
  'incident.note',
  'incident.severity',
  'incident.mitigate',
  'incident.resolve',
  'ingest.pause',
  'ingest.resume',
  'ingest.quota',
  'alerts.silence',
  'page',
  'slo.evaluate',
  'slo.backfill',
] as const;
export type KeelAction = (typeof KEEL_ACTIONS)[number];

const keelSchema = z
  .object({
    action: z.enum(KEEL_ACTIONS),
    /** incident.note text, or the note of a mitigation/resolution. */
    text: text(4000).optional(),
    severity: z.enum(['SEV1', 'SEV2', 'SEV3', 'SEV4']).optional(),
    /** The incident (number or id; default: the run's incident). */
    incident: text(100).optional(),
    /** ingest.*: the tenant (default: the runbook's own; another tenant only from the system tenant). */
    tenant: text(100).optional(),
    eventsPerSecond: z.number().int().min(1).max(100_000_000).nullable().optional(),
    /** ingest.quota: the tenant's daily volume quota (events per UTC day; null removes it). */
    eventsPerDay: z.number().int().min(1).max(1e15).nullable().optional(),
    /** alerts.silence: label matchers as in a Silence (`service="web"`), and for how long. */
    matchers: z.array(z.string().min(1).max(1000)).min(1).max(50).optional(),
    duration: durationBetween(60_000, 7 * 86_400_000, '1h').optional(),
    burst: z.number().int().min(1).max(1_000_000_000).nullable().optional(),
    /** page: User definitions (by name) to page, and Schedules whose on-call person to page. */
    users: z.array(text(200).min(1)).min(1).max(20).optional(),
    schedules: z.array(text(200).min(1)).min(1).max(20).optional(),
    /** slo.backfill: the SLO to count again from the event log. */
    slo: text(200).min(1).optional(),
  })
  .strict();

/** Fields of a keel step that only some actions read: given to another action, they are refused. */
const ACTION_FIELDS: Record<'users' | 'schedules' | 'slo', readonly KeelAction[]> = { users: ['page'], schedules: ['page'], slo: ['slo.backfill'] };

const waitSchema = z
  .object({
    /** Wait this long. */
    duration: durationBetween(1, 7 * 86_400_000, '5m').optional(),
    /** Or until this CEL condition over live figures holds (`slo["checkout"].burn_rate < 1`, `limits["log.disk"].utilisation < 0.8`). */
    until: text(4096).optional(),
    /** How often `until` is evaluated. */
    every: durationBetween(100, 3_600_000, '30s').default('15s'),
  })
  .strict();

const approvalSchema = z
  .object({
    /** People (e-mail addresses) who may approve; any one of them is enough. */
    users: z.array(z.string().email().max(320)).max(50).default([]),
    /** Or anyone holding at least this team role. */
    role: z.enum(['responder', 'editor', 'admin']).optional(),
    message: text(2000).optional(),
  })
  .strict();

const conditionSchema = z
  .object({
    /** CEL over `params` and earlier `steps.NAME.output`: true continues with the next step. */
    if: text(4096),
    /** Where a false condition goes: a later step, or `end` (the run succeeds there). */
    else: z.string().min(1).max(63),
  })
  .strict();

const retriesSchema = z
  .object({
    attempts: z.number().int().min(0).max(20).default(0),
    backoff: durationBetween(1, 3_600_000, '10s').default('10s'),
    maxBackoff: durationBetween(1, 86_400_000, '5m').default('5m'),
  })
  .strict();

export type { StepKind };

const stepSchema = z
  .object({
    name: NAME,
    description: text(1000).optional(),
    timeout: durationBetween(1, 7 * 86_400_000, '30s').optional(),
    retries: retriesSchema.prefault({}),
    /** Whether running the step twice is harmless: after a crash mid-step it is run again; otherwise a person decides. */
    safeToRepeat: z.boolean().default(false),
    http: httpSchema.optional(),
    command: commandSchema.optional(),
    keel: keelSchema.optional(),
    wait: waitSchema.optional(),
    approval: approvalSchema.optional(),
    condition: conditionSchema.optional(),
  })
  .strict();

/** What alert and incident matchers share: label equality, a CEL `when`, parameters as templates. */
const matcherFields = {
  /** Label equality (all must match); `service` and `severity` are matched as labels too (for incidents: its alerts' labels). */
  labels: z.record(z.string().min(1).max(200), z.string().max(1000)).default({}),
  /** And this CEL over `alert.*` (or `incident.*`) holds (`alert.labels.env == "prod" && alert.severity != "info"`). */
  when: text(4096).optional(),
  /** Runs for the runbook's parameters, as templates over `alert.*` or `incident.*` (e.g. tenant: "{{ alert.labels.tenant }}"). */
  params: z.record(z.string(), text(1000)).default({}),
};

const matcherSchema = z.object(matcherFields).strict();

const incidentMatcherSchema = z
  .object({
    ...matcherFields,
    /** The incident opened with one of these severities (default: every severity). */
    severities: z
      .array(z.enum(['SEV1', 'SEV2', 'SEV3', 'SEV4']))
      .min(1)
      .max(4)
      .optional(),
  })
  .strict();

const triggersSchema = z
  .object({
    alerts: z.array(matcherSchema).max(20).default([]),
    /** Incidents as they open (declared, or opened by an alert); the run is tied to the incident. */
    incidents: z.array(incidentMatcherSchema).max(20).default([]),
    /** A trigger while a run of the same concurrency key is active: skip it, or queue it to start when that run ends. */
    concurrencyPolicy: z.enum(['skip', 'queue']).default('skip'),
    /** No second automatic run for the same concurrency key within this long. */
    cooldown: durationBetween(0, 7 * 86_400_000, '10m').default('10m'),
    /** Template naming what may run once at a time (default: the runbook). */
    concurrencyKey: text(500).optional(),
    /** Circuit breaker: at most this many automatic runs per hour, then page instead. */
    maxRunsPerHour: z.number().int().min(1).max(1000).default(6),
    /** Cron (5 fields, or 6 with seconds) in a time zone; missed times while Keel was down fire once. */
    schedule: z
      .object({
        cron: z.string().min(1).max(200),
        timeZone: z.string().min(1).max(100).default('UTC'),
        params: z.record(z.string(), z.union([z.string().max(1000), z.number(), z.boolean()])).default({}),
      })
      .strict()
      .optional(),
  })
  .strict();

export const runbookSpecSchema = z
  .object({
    description: text(2000).optional(),
    parameters: z.record(NAME, parameterSchema).default({}),
    steps: z.array(stepSchema).min(1).max(50),
    verify: z
      .object({ until: text(4096), timeout: durationBetween(1000, 86_400_000, '10m'), every: durationBetween(100, 3_600_000, '30s').default('15s') })
      .strict()
      .optional(),
    triggers: triggersSchema.optional(),
    /** Error-budget guard: no run (manual or automatic) while this SLO's remaining budget is at or below the threshold. */
    guard: z
      .object({ slo: z.string().min(1).max(128), minBudgetRemainingPercent: z.number().min(0).max(100) })
      .strict()
      .optional(),
  })
  .strict();

export type RunbookSpec = z.output<typeof runbookSpecSchema>;
export type RunbookStep = RunbookSpec['steps'][number];
export type RunbookParameter = RunbookSpec['parameters'][string];

export function stepKind(step: RunbookStep): StepKind {
  for (const k of STEP_KINDS) if (step[k] !== undefined) return k;
  return 'wait';
}

/** Fields of each step kind's output that later steps may read. */
export function outputFields(step: RunbookStep): string[] {
  switch (stepKind(step)) {
    case 'http':
      return ['status', 'body', 'json', 'headers', '*'];
    case 'command':
      return ['exit_code', 'stdout', 'stderr'];
    case 'keel':
      return ['action', 'incident', 'tenant', 'silence', 'result', 'paged', 'missing', 'notifications', 'slo', 'generation', 'evaluated', 'transitions'];
    case 'wait':
      return ['waited_ms'];
    case 'approval':
      return ['approved_by'];
    case 'condition':
      return ['result'];
  }
}

/** Whether a step may be run again after a crash without asking: keel steps commit with their record. */
export function repeatable(step: RunbookStep): boolean {
  const kind = stepKind(step);
  return step.safeToRepeat || kind === 'keel' || kind === 'wait' || kind === 'condition' || kind === 'approval';
}

/** Every template-bearing field of a step, with its path and whether secrets are allowed there. */
function templatedFields(step: RunbookStep): { path: (string | number)[]; text: string; secrets: boolean }[] {
  const out: { path: (string | number)[]; text: string; secrets: boolean }[] = [];
  if (step.http) {
    out.push({ path: ['http', 'url'], text: step.http.url, secrets: true });
    for (const [k, v] of Object.entries(step.http.headers)) out.push({ path: ['http', 'headers', k], text: v, secrets: true });
    if (step.http.body !== undefined) out.push({ path: ['http', 'body'], text: step.http.body, secrets: true });
  }
  if (step.command) {
    step.command.argv.forEach((a, i) => out.push({ path: ['command', 'argv', i], text: a, secrets: false }));
    for (const [k, v] of Object.entries(step.command.env)) out.push({ path: ['command', 'env', k], text: v, secrets: true });
  }
  if (step.keel) {
    for (const k of ['text', 'incident', 'tenant', 'slo'] as const) if (step.keel[k] !== undefined) out.push({ path: ['keel', k], text: step.keel[k], secrets: false });
    for (const k of ['matchers', 'users', 'schedules'] as const) (step.keel[k] ?? []).forEach((m, j) => out.push({ path: ['keel', k, j], text: m, secrets: false }));
  }
  if (step.approval?.message !== undefined) out.push({ path: ['approval', 'message'], text: step.approval.message, secrets: false });
  return out;
}

/** The paths a boolean CEL expression reads, or why it is refused. */
function celPaths(source: string, path: (string | number)[]): { ok: true; paths: string[][] } | { ok: false; error: FieldError } {
  const r = analyzeCel(source, 'bool');
  if (r.ok) return { ok: true, paths: r.analysis.paths };
  const message = r.problem.message.startsWith('references no event attribute') ? 'the condition reads nothing, so it never changes' : `${r.problem.message} (at character ${r.problem.offset + 1})`;
  return { ok: false, error: { path, message } };
}

/** CEL paths: the roots a condition may read (params, steps, alert, incident) or a wait may (slo). */
function checkCel(source: string, path: (string | number)[], scope: TemplateScope, roots: 'run' | 'slo'): FieldError[] {
  const r = celPaths(source, path);
  if (!r.ok) return [r.error];
  const errors: FieldError[] = [];
  for (const p of r.paths) {
    if (roots === 'slo') {
      const ok = p.length === 3 && ((p[0] === 'slo' && SLO_FIELDS.includes(p[2]!)) || (p[0] === 'limits' && LIMIT_FIELDS.includes(p[2]!)));
      if (!ok) errors.push({ path, message: `"${p.join('.')}": a wait reads live figures only: slo["NAME"].${SLO_FIELDS.join(' | ')} or limits["ID"].${LIMIT_FIELDS.join(' | ')}` });
      continue;
    }
    const why = p[0] === 'secrets' ? 'a condition cannot read secrets' : checkPath(p, { ...scope, secrets: false });
    if (why) errors.push({ path, message: why });
  }
  return errors;
}

export const SLO_FIELDS = ['burn_rate', 'budget_remaining', 'compliance'];
/** A tracked limit's latest sample (keel capacity report): utilisation is usage over capacity (0 to 1). */
export const LIMIT_FIELDS = ['utilisation', 'usage', 'capacity'];

function checkKeelFields(k: NonNullable<RunbookStep['keel']>, at: (string | number)[]): FieldError[] {
  const errors: FieldError[] = [];
  for (const [field, actions] of Object.entries(ACTION_FIELDS) as [keyof typeof ACTION_FIELDS, readonly KeelAction[]][]) {
    if (k[field] !== undefined && !actions.includes(k.action)) errors.push({ path: [...at, field], message: `only ${actions.join(', ')} reads ${field}, not ${k.action}` });
  }
  if (k.action === 'page' && !k.users && !k.schedules) errors.push({ path: at, message: 'page names users or schedules (or both) to page' });
  if (k.action === 'slo.backfill' && k.slo === undefined) errors.push({ path: [...at, 'slo'], message: 'slo.backfill names the SLO to count again' });
  if (k.action === 'incident.severity' && k.severity === undefined) errors.push({ path: [...at, 'severity'], message: 'incident.severity sets a severity (SEV1 to SEV4)' });
  return errors;
}

/** The runbook's own consistency: names, skips, templates, CEL, parameter types. */
export function checkRunbook(spec: RunbookSpec): FieldError[] {
  const errors: FieldError[] = [];
  const params = new Set(Object.keys(spec.parameters));
  for (const [name, p] of Object.entries(spec.parameters)) {
    const at = ['parameters', name];
    if (p.type === 'enum' && !p.values) errors.push({ path: [...at, 'values'], message: 'an enum parameter lists its values' });
    if (p.type !== 'enum' && p.values) errors.push({ path: [...at, 'values'], message: 'only enum parameters have values' });
    if (p.default !== undefined) {
      const ok =
        (p.type === 'string' && typeof p.default === 'string') ||
        (p.type === 'number' && typeof p.default === 'number') ||
        (p.type === 'bool' && typeof p.default === 'boolean') ||
        (p.type === 'enum' && typeof p.default === 'string' && (p.values ?? []).includes(p.default));
      if (!ok) errors.push({ path: [...at, 'default'], message: p.type === 'enum' ? `one of ${(p.values ?? []).join(', ')}` : `a ${p.type === 'bool' ? 'boolean' : p.type}` });
    }
  }
  const seen = new Map<string, readonly string[]>();
  const names = spec.steps.map((s) => s.name);
  spec.steps.forEach((step, i) => {
    const at: (string | number)[] = ['steps', i];
    const kinds = STEP_KINDS.filter((k) => step[k] !== undefined);
    if (kinds.length !== 1) errors.push({ path: at, message: `a step has exactly one of ${STEP_KINDS.join(', ')}${kinds.length ? ` (this one has ${kinds.join(', ')})` : ''}` });
    if (seen.has(step.name)) errors.push({ path: [...at, 'name'], message: `step "${step.name}" appears twice` });
    const scope: TemplateScope = { params, steps: seen, secrets: true };
    for (const f of templatedFields(step)) {
      for (const ref of references(f.text)) {
        const why = checkPath(ref.path, { ...scope, secrets: f.secrets });
        if (why) errors.push({ path: [...at, ...f.path], message: `${ref.raw}: ${why}` });
      }
    }
    if (step.condition) {
      errors.push(...checkCel(step.condition.if, [...at, 'condition', 'if'], scope, 'run'));
      const target = step.condition.else;
      const j = names.indexOf(target);
      if (target !== 'end' && j < 0) errors.push({ path: [...at, 'condition', 'else'], message: `no step named "${target}" (or "end")` });
      else if (target !== 'end' && j <= i) errors.push({ path: [...at, 'condition', 'else'], message: `"${target}" is not after this step: a condition only skips forward` });
    }
    if (step.wait) {
      if ((step.wait.duration === undefined) === (step.wait.until === undefined)) errors.push({ path: [...at, 'wait'], message: 'a wait has either duration or until (with the step timeout)' });
      if (step.wait.until !== undefined) {
        errors.push(...checkCel(step.wait.until, [...at, 'wait', 'until'], scope, 'slo'));
        if (!step.timeout) errors.push({ path: [...at, 'timeout'], message: 'a wait until a condition needs a timeout' });
      }
    }
    if (step.keel?.action === 'alerts.silence' && (!step.keel.matchers || !step.keel.duration)) errors.push({ path: [...at, 'keel'], message: 'alerts.silence needs matchers and a duration' });
    if (step.keel) errors.push(...checkKeelFields(step.keel, [...at, 'keel']));
    if (step.approval && step.approval.users.length === 0 && !step.approval.role) errors.push({ path: [...at, 'approval'], message: 'an approval names users or a role' });
    if (step.approval && !step.timeout) errors.push({ path: [...at, 'timeout'], message: 'an approval needs a timeout' });
    if (parseDurationMs(step.retries.maxBackoff) < parseDurationMs(step.retries.backoff)) errors.push({ path: [...at, 'retries', 'maxBackoff'], message: 'at least backoff' });
    seen.set(step.name, outputFields(step));
  });
  if (spec.verify) errors.push(...checkCel(spec.verify.until, ['verify', 'until'], { params, steps: seen, secrets: false }, 'slo'));
  if (spec.triggers?.schedule) {
    const why = scheduleProblem(spec.triggers.schedule.cron, spec.triggers.schedule.timeZone);
    if (why) errors.push({ path: ['triggers', 'schedule', why.field], message: why.message });
  }
  if (spec.triggers) {
    for (const source of ['alerts', 'incidents'] as const) {
      const root = source === 'alerts' ? 'alert' : 'incident';
      spec.triggers[source].forEach((m, i) => errors.push(...checkMatcher(m, root, params, ['triggers', source, i])));
    }
    if (spec.triggers.concurrencyKey !== undefined) {
      for (const ref of references(spec.triggers.concurrencyKey)) {
        const why = ref.path[0] === 'alert' || ref.path[0] === 'incident' ? checkPath(ref.path, TRIGGER_SCOPE) : 'a concurrency key reads only alert.* or incident.* fields';
        if (why) errors.push({ path: ['triggers', 'concurrencyKey'], message: `${ref.raw}: ${why}` });
      }
    }
  }
  return errors;
}

const TRIGGER_SCOPE: TemplateScope = { params: new Set(), steps: new Map(), secrets: false };

/** A trigger matcher's params (templates) and `when` (CEL) read only the alert's or the incident's fields. */
function checkMatcher(m: { params: Record<string, string>; when?: string | undefined }, root: 'alert' | 'incident', params: ReadonlySet<string>, at: (string | number)[]): FieldError[] {
  const errors: FieldError[] = [];
  const only = `an ${root} trigger reads only ${root}.* fields`;
  for (const [k, v] of Object.entries(m.params)) {
    if (!params.has(k)) errors.push({ path: [...at, 'params', k], message: `unknown parameter "${k}"` });
    for (const ref of references(v)) {
      const why = ref.path[0] === root ? checkPath(ref.path, TRIGGER_SCOPE) : only;
      if (why) errors.push({ path: [...at, 'params', k], message: `${ref.raw}: ${why}` });
    }
  }
  if (m.when !== undefined) {
    const r = celPaths(m.when, [...at, 'when']);
    if (!r.ok) errors.push(r.error);
    else {
      for (const p of r.paths) {
        // An incident's labels are its alerts' labels (matched, not a template field of runs).
        const labels = root === 'incident' && p[0] === 'incident' && p[1] === 'labels' && p.length === 3;
        const why = labels ? undefined : p[0] === root ? checkPath(p, TRIGGER_SCOPE) : only;
        if (why) errors.push({ path: [...at, 'when'], message: why });
      }
    }
  }
  return errors;
}

export function durationMs(text: string): number {
  return parseDurationMs(text);
}

/** The machine's view of a runbook (durations in ms, skip targets as indexes). */
export function planOf(spec: RunbookSpec): import('./run-machine.js').MachinePlan {
  const names = spec.steps.map((s) => s.name);
  return {
    steps: spec.steps.map((s) => ({
      name: s.name,
      kind: stepKind(s),
      repeatable: repeatable(s),
      timeoutMs: s.timeout ? durationMs(s.timeout) : null,
      retries: { attempts: s.retries.attempts, backoffMs: durationMs(s.retries.backoff), maxBackoffMs: durationMs(s.retries.maxBackoff) },
      ...(s.wait?.duration !== undefined ? { waitMs: durationMs(s.wait.duration) } : {}),
      ...(s.wait ? { everyMs: durationMs(s.wait.every) } : {}),
      ...(s.condition ? { elseIndex: s.condition.else === 'end' ? spec.steps.length : names.indexOf(s.condition.else) } : {}),
    })),
    ...(spec.verify ? { verify: { timeoutMs: durationMs(spec.verify.timeout), everyMs: durationMs(spec.verify.every) } } : {}),
  };
}

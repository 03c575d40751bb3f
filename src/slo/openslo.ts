/**
 * OpenSLO v1 documents (`apiVersion: openslo/v1`, also accepted as `keel/v1`): the shapes of SLO,
 * SLI, AlertPolicy, AlertCondition and AlertNotificationTarget, parsed with every error located by
 * its field path. Keel's data source is `metricSource.type: keel`, whose `spec.query` is a CEL
 * expression over event attributes. Keel extensions (documented in docs/slo.md): `SLO.spec.breakdown`,
 * `AlertPolicy.spec.minBadEvents`, `AlertCondition.spec.condition.shortWindow`.
 */
import { z } from 'zod';
import { analyzeCel, type CelResultKind } from '../cel/compile.js';
import { NAME_PATTERN } from '../definitions/definitions-service.js';
import type { FieldError } from '../definitions/kinds.js';
import { metadataSchema, type Metadata } from '../definitions/metadata.js';
import { parseWith } from '../definitions/zod-errors.js';
import { parseOpenSloDuration, type DurationUnit } from './durations.js';
import { MAX_BREAKDOWN_ATTRIBUTES } from './model.js';
import { calendarStart, isValidZone } from './windows.js';

type Path = (string | number)[];

const cel = z.string().min(1).max(4096);
const keelSource = <S extends z.ZodType>(spec: S) =>
  z
    .object({
      metricSource: z
        .object({
          // A DataSource by name (OpenSLO): accepted with a warning, Keel evaluates its own events.
          metricSourceRef: z.string().min(1).optional(),
          type: z
            .string()
            .refine((t) => t.toLowerCase() === 'keel', {
              message: 'Keel computes SLIs from the events it ingests: metricSource.type must be "keel"',
            })
            .optional(),
          spec,
        })
        .strict()
        .refine((m) => m.type !== undefined || m.metricSourceRef !== undefined, { message: 'metricSource needs type: keel (or a metricSourceRef)', path: ['type'] }),
    })
    .strict();

const querySpec = z.object({ query: cel.describe('CEL condition over event attributes') }).strict();
const thresholdSpec = z.object({ query: cel.describe('CEL expression: the measured number'), filter: cel.optional().describe('CEL condition: which events are measured') }).strict();

export const sliSpecSchema = z
  .object({
    description: z.string().max(1050).optional(),
    ratioMetric: z
      .object({
        counter: z.boolean().optional(),
        good: keelSource(querySpec).optional(),
        bad: keelSource(querySpec).optional(),
        total: keelSource(querySpec),
      })
      .strict()
      .optional(),
    thresholdMetric: keelSource(thresholdSpec).optional(),
  })
  .strict();
export type SliSpecBody = z.output<typeof sliSpecSchema>;

const objectiveSchema = z
  .object({
    displayName: z.string().max(200).optional(),
    op: z.enum(['lt', 'lte', 'gt', 'gte']).optional(),
    value: z.number().optional(),
    target: z.number().optional(),
    targetPercent: z.number().optional(),
    timeSliceTarget: z.number().optional(),
    timeSliceWindow: z.union([z.string(), z.number()]).optional(),
  })
  .strict();

const timeWindowSchema = z
  .object({
    duration: z.string(),
    isRolling: z.boolean().optional(),
    calendar: z.object({ startTime: z.string(), timeZone: z.string() }).strict().optional(),
  })
  .strict();

const inlineMetadata = metadataSchema.refine((m) => NAME_PATTERN.test(m.name), {
  message: 'name must be lowercase letters, digits, ".", "-" or "_"',
  path: ['name'],
});

export const sloSpecSchema = z
  .object({
    description: z.string().max(1050).optional(),
    service: z.string().min(1),
    indicator: z.object({ metadata: inlineMetadata, spec: z.unknown() }).strict().optional(),
    indicatorRef: z.string().min(1).optional(),
    timeWindow: z.array(timeWindowSchema).length(1, 'timeWindow must hold exactly one window').optional(),
    budgetingMethod: z.enum(['Occurrences', 'Timeslices', 'RatioTimeslices'], {
      error: (iss) => `budgetingMethod ${iss.input === undefined ? 'is required' : `"${String(iss.input)}" is unknown`}: one of Occurrences, Timeslices, RatioTimeslices`,
    }),
    objectives: z.array(objectiveSchema).min(1).max(10),
    alertPolicies: z.array(z.record(z.string(), z.unknown())).max(10).nullish(),
    breakdown: z.array(z.string().min(1).max(200)).max(MAX_BREAKDOWN_ATTRIBUTES, `at most ${MAX_BREAKDOWN_ATTRIBUTES} breakdown attributes`).optional(),
  })
  .strict();
export type SloSpecBody = z.output<typeof sloSpecSchema>;

const conditionSpecSchema = z
  .object({
    description: z.string().max(1050).optional(),
    severity: z.string().min(1).max(50),
    condition: z
      .object({
        kind: z.literal('burnrate', { message: 'condition.kind must be "burnrate"' }),
        op: z.enum(['lt', 'lte', 'gt', 'gte']),
        threshold: z.number().positive(),
        lookbackWindow: z.string(),
        alertAfter: z.string().optional(),
        shortWindow: z.string().optional(),
      })
      .strict(),
  })
  .strict();
export type AlertConditionBody = z.output<typeof conditionSpecSchema>;

const policySpecSchema = z
  .object({
    description: z.string().max(1050).optional(),
    alertWhenNoData: z.boolean().optional(),
    alertWhenResolved: z.boolean().optional(),
    alertWhenBreaching: z.boolean().optional(),
    minBadEvents: z.number().int().nonnegative().optional(),
    conditions: z.array(z.record(z.string(), z.unknown())).min(1).max(10),
    notificationTargets: z.array(z.record(z.string(), z.unknown())).max(20).optional(),
  })
  .strict();
export type AlertPolicyBody = z.output<typeof policySpecSchema>;

const targetSpecSchema = z.object({ description: z.string().max(1050).optional(), target: z.string().min(1).max(200) }).strict();
export type NotificationTargetBody = z.output<typeof targetSpecSchema>;

/** A stored definition: its metadata and its spec's fields (what `keel get` prints and diffs compare). */
export type Stored<T> = { metadata: Metadata } & T;

export type InlineOrRef<T> = { ref: string } | { inline: Stored<T> };

const document = <S extends z.ZodType>(spec: S) => z.object({ apiVersion: z.string(), kind: z.string(), metadata: metadataSchema, spec }).strict();

type Result<T> = { ok: true; spec: T } | { ok: false; errors: FieldError[] };

function done<T>(spec: T, errors: FieldError[]): Result<T> {
  return errors.length ? { ok: false, errors } : { ok: true, spec };
}

function celErrors(source: string | undefined, kind: CelResultKind, path: Path): FieldError[] {
  if (source === undefined) return [];
  const r = analyzeCel(source, kind);
  if (r.ok) return [];
  return [{ path, message: `CEL: ${r.problem.message} (at character ${r.problem.offset + 1} of ${JSON.stringify(source)})` }];
}

/** Checks an SLI body's shape and CEL; `at` is the path of the body in the document. */
export function checkSli(raw: unknown, at: Path): Result<SliSpecBody> {
  const r = parseWith(sliSpecSchema, raw ?? {}, at);
  if (!r.ok) return r;
  const s = r.spec;
  const errors: FieldError[] = [];
  if (!s.ratioMetric === !s.thresholdMetric) {
    errors.push({ path: at, message: 'an SLI needs exactly one of ratioMetric and thresholdMetric' });
  }
  if (s.ratioMetric) {
    const m = s.ratioMetric;
    if (!m.good === !m.bad) errors.push({ path: [...at, 'ratioMetric'], message: 'ratioMetric needs exactly one of good and bad (with total)' });
    const q = (name: 'good' | 'bad' | 'total') => [...at, 'ratioMetric', name, 'metricSource', 'spec', 'query'];
    errors.push(...celErrors(m.total.metricSource.spec.query, 'bool', q('total')));
    errors.push(...celErrors(m.good?.metricSource.spec.query, 'bool', q('good')));
    errors.push(...celErrors(m.bad?.metricSource.spec.query, 'bool', q('bad')));
  }
  if (s.thresholdMetric) {
    const spec = s.thresholdMetric.metricSource.spec;
    const base = [...at, 'thresholdMetric', 'metricSource', 'spec'];
    errors.push(...celErrors(spec.query, 'number', [...base, 'query']));
    errors.push(...celErrors(spec.filter, 'bool', [...base, 'filter']));
  }
  return done(s, errors);
}

export function parseSliDocument(doc: Record<string, unknown>): Result<Stored<SliSpecBody>> {
  const r = parseWith(document(z.unknown()), doc);
  if (!r.ok) return r;
  const body = checkSli(r.spec.spec, ['spec']);
  if (!body.ok) return body;
  return { ok: true, spec: { metadata: r.spec.metadata, ...body.spec } };
}

const ROLLING_UNITS: DurationUnit[] = ['m', 'h', 'd', 'w'];
const CALENDAR_UNITS: DurationUnit[] = ['d', 'w', 'M', 'Q', 'Y'];
const SLICE_UNITS: DurationUnit[] = ['s', 'm', 'h'];
const ALERT_UNITS: DurationUnit[] = ['m', 'h', 'd', 'w'];

export interface StoredSlo extends Stored<Omit<SloSpecBody, 'indicator' | 'alertPolicies'>> {
  indicator?: Stored<SliSpecBody>;
  alertPolicies?: InlineOrRef<AlertPolicyStored>[];
}
export type AlertPolicyStored = Omit<AlertPolicyBody, 'conditions' | 'notificationTargets'> & {
  conditions: InlineOrRef<AlertConditionBody>[];
  notificationTargets?: InlineOrRef<NotificationTargetBody>[];
};

/** The window of an SLO without `timeWindow` (OpenSLO leaves it to the implementation): the SRE Workbook's 30 days, rolling. */
export const DEFAULT_TIME_WINDOW: z.output<typeof timeWindowSchema> = { duration: '30d', isRolling: true };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const COMPOSITE_FIELDS = ['indicator', 'indicatorRef', 'compositeWeight'];
type Objective = z.output<typeof objectiveSchema>;

/**
 * Composite SLOs (OpenSLO objectives with their own indicator and a compositeWeight) are refused by
 * name; the composite fields are removed so the rest of each objective is still checked.
 */
function withoutComposites(spec: unknown, errors: FieldError[]): unknown {
  if (!isRecord(spec) || !Array.isArray(spec.objectives)) return spec;
  const objectives = spec.objectives.map((o: unknown, i) => {
    if (!isRecord(o)) return o;
    const found = COMPOSITE_FIELDS.filter((k) => k in o);
    if (found.length === 0) return o;
    errors.push({ path: ['spec', 'objectives', i], message: `composite SLOs are not supported (this objective has ${found.join(', ')}): define one SLO per indicator` });
    return Object.fromEntries(Object.entries(o).filter(([k]) => !COMPOSITE_FIELDS.includes(k)));
  });
  return { ...spec, objectives };
}

/**
 * What of a spec that failed its schema still parses, field by field (and objective by objective),
 * so the semantic checks run on it and one pass reports every error of the document.
 */
function salvage(raw: unknown): { spec: Partial<SloSpecBody>; objectives: [number, Objective][]; failed: Set<string> } {
  const failed = new Set<string>();
  const spec: Record<string, unknown> = {};
  const objectives: [number, Objective][] = [];
  if (!isRecord(raw)) return { spec, objectives, failed: new Set(Object.keys(sloSpecSchema.shape)) };
  for (const [key, schema] of Object.entries(sloSpecSchema.shape)) {
    const r = (schema as z.ZodType).safeParse(raw[key]);
    if (r.success) spec[key] = r.data;
    else failed.add(key);
  }
  if (Array.isArray(raw.objectives)) {
    raw.objectives.forEach((o: unknown, i) => {
      const r = objectiveSchema.safeParse(o);
      if (r.success) objectives.push([i, r.data]);
    });
  } else if (spec.objectives) (spec.objectives as Objective[]).forEach((o, i) => objectives.push([i, o]));
  return { spec: spec as Partial<SloSpecBody>, objectives, failed };
}

export function parseSloDocument(doc: Record<string, unknown>): Result<StoredSlo> {
  const errors: FieldError[] = [];
  const input = { ...doc, spec: withoutComposites(doc.spec, errors) };
  const whole = parseWith(document(sloSpecSchema), input);
  let s: Partial<SloSpecBody>;
  let objectives: [number, Objective][];
  let failed = new Set<string>();
  if (whole.ok) {
    s = whole.spec.spec;
    objectives = whole.spec.spec.objectives.map((o, i) => [i, o]);
  } else {
    errors.push(...whole.errors);
    ({ spec: s, objectives, failed } = salvage(input.spec));
  }
  let indicator: Stored<SliSpecBody> | undefined;
  if (!failed.has('indicator') && !failed.has('indicatorRef') && !s.indicator === !s.indicatorRef) {
    errors.push({ path: ['spec'], message: 'an SLO needs exactly one of indicator and indicatorRef' });
  }
  if (s.indicator) {
    const sli = checkSli(s.indicator.spec, ['spec', 'indicator', 'spec']);
    if (sli.ok) indicator = { metadata: s.indicator.metadata, ...sli.spec };
    else errors.push(...sli.errors);
  }
  if (!failed.has('timeWindow')) errors.push(...windowErrors(s.timeWindow?.[0] ?? DEFAULT_TIME_WINDOW));
  const ratio = s.indicator ? Boolean((s.indicator.spec as SliSpecBody | undefined)?.ratioMetric) : undefined;
  for (const [i, o] of objectives) errors.push(...objectiveErrors(o, ['spec', 'objectives', i], ratio, failed.has('budgetingMethod') ? undefined : s.budgetingMethod));
  const policies: InlineOrRef<AlertPolicyStored>[] = [];
  (s.alertPolicies ?? []).forEach((item, i) => {
    const at = ['spec', 'alertPolicies', i];
    const p = inlineOrRef(item, at, 'alertPolicyRef', 'AlertPolicy', parsePolicyBody);
    if ('errors' in p) errors.push(...p.errors);
    else policies.push(p.value);
  });
  const breakdown = s.breakdown ?? [];
  breakdown.forEach((b, i) => {
    if (!/^[^.]+(\.[^.]+)*$/.test(b)) errors.push({ path: ['spec', 'breakdown', i], message: `"${b}" is not an attribute path like route or http.route` });
  });
  if (new Set(breakdown).size !== breakdown.length) errors.push({ path: ['spec', 'breakdown'], message: 'breakdown attributes must be distinct' });
  if (!whole.ok || errors.length > 0) return { ok: false, errors };
  const { indicator: _i, alertPolicies: _p, ...rest } = whole.spec.spec;
  const spec: StoredSlo = {
    metadata: whole.spec.metadata,
    ...rest,
    timeWindow: rest.timeWindow ?? [{ ...DEFAULT_TIME_WINDOW }],
    ...(indicator ? { indicator } : {}),
    ...(s.alertPolicies?.length ? { alertPolicies: policies } : {}),
  };
  return done(spec, errors);
}

function windowErrors(tw: z.output<typeof timeWindowSchema>): FieldError[] {
  const errors: FieldError[] = [];
  const twPath = ['spec', 'timeWindow', 0];
  const rolling = tw.isRolling ?? !tw.calendar;
  if (rolling) {
    if (tw.calendar) errors.push({ path: [...twPath, 'calendar'], message: 'a rolling window (isRolling: true) has no calendar' });
    const d = parseOpenSloDuration(tw.duration, ROLLING_UNITS);
    if (typeof d === 'string') errors.push({ path: [...twPath, 'duration'], message: `${d}; months and longer need a calendar window` });
    else if (d.ms < 3_600_000 || d.ms > 400 * 86_400_000) errors.push({ path: [...twPath, 'duration'], message: 'a rolling window must be between 1h and 400d' });
    return errors;
  }
  const d = parseOpenSloDuration(tw.duration, CALENDAR_UNITS);
  if (typeof d === 'string') errors.push({ path: [...twPath, 'duration'], message: d });
  else if (d.ms > 400 * 86_400_000) errors.push({ path: [...twPath, 'duration'], message: 'a calendar window must be at most 400 days long' });
  if (!tw.calendar) errors.push({ path: twPath, message: 'a calendar window (isRolling: false) needs calendar.startTime and calendar.timeZone' });
  else if (!isValidZone(tw.calendar.timeZone)) {
    errors.push({ path: [...twPath, 'calendar', 'timeZone'], message: `"${tw.calendar.timeZone}" is not an IANA time zone (e.g. Europe/Berlin, UTC)` });
  } else {
    const start = calendarStart(tw.calendar.startTime, tw.calendar.timeZone);
    if (!start) errors.push({ path: [...twPath, 'calendar', 'startTime'], message: `"${tw.calendar.startTime}" is not a date-time like 2024-01-01 00:00:00` });
    else if (start.second !== 0 || start.millisecond !== 0) errors.push({ path: [...twPath, 'calendar', 'startTime'], message: 'startTime must be a whole minute' });
  }
  return errors;
}

/**
 * `ratio`: whether the inline indicator is a ratioMetric (undefined for an indicatorRef). OpenSLO
 * allows `op` on a ratio objective (it says how good compares with total); Keel's ratio is always
 * good / total, so `op` alone is accepted there and only `value` is refused.
 */
function objectiveErrors(o: Objective, at: Path, ratio: boolean | undefined, method: SloSpecBody['budgetingMethod'] | undefined): FieldError[] {
  const errors: FieldError[] = [];
  if ((o.target === undefined) === (o.targetPercent === undefined)) errors.push({ path: at, message: 'an objective needs exactly one of target and targetPercent' });
  if (o.target !== undefined && !(o.target >= 0 && o.target < 1)) errors.push({ path: [...at, 'target'], message: `target must be in [0, 1), got ${o.target}` });
  if (o.targetPercent !== undefined && !(o.targetPercent >= 0 && o.targetPercent < 100)) {
    errors.push({ path: [...at, 'targetPercent'], message: `targetPercent must be in [0, 100), got ${o.targetPercent}` });
  }
  if (ratio === true && o.value !== undefined) errors.push({ path: [...at, 'value'], message: 'value applies to a thresholdMetric SLI, not a ratioMetric' });
  if (ratio !== true && o.value !== undefined && o.op === undefined) errors.push({ path: at, message: 'op and value go together' });
  if (ratio === false && (o.op === undefined || o.value === undefined)) errors.push({ path: at, message: 'a thresholdMetric SLI needs op and value in every objective' });
  if (method === 'Occurrences') {
    if (o.timeSliceTarget !== undefined || o.timeSliceWindow !== undefined) {
      errors.push({ path: at, message: 'timeSliceTarget and timeSliceWindow apply to the Timeslices and RatioTimeslices budgeting methods' });
    }
  } else if (method !== undefined) {
    if (o.timeSliceWindow === undefined) errors.push({ path: at, message: `${method} needs timeSliceWindow` });
    else {
      const d = parseOpenSloDuration(typeof o.timeSliceWindow === 'number' ? `${o.timeSliceWindow}s` : o.timeSliceWindow, SLICE_UNITS);
      if (typeof d === 'string') errors.push({ path: [...at, 'timeSliceWindow'], message: d });
      else if (d.ms % 10_000 !== 0 || 86_400_000 % d.ms !== 0 || (d.ms < 3_600_000 && 3_600_000 % d.ms !== 0)) {
        errors.push({ path: [...at, 'timeSliceWindow'], message: 'timeSliceWindow must be a multiple of 10s that divides an hour (or a day, above an hour), e.g. 1m, 5m, 1h' });
      }
    }
    if (method === 'Timeslices') {
      if (o.timeSliceTarget === undefined) errors.push({ path: at, message: 'Timeslices needs timeSliceTarget' });
      else if (!(o.timeSliceTarget > 0 && o.timeSliceTarget <= 1)) errors.push({ path: [...at, 'timeSliceTarget'], message: 'timeSliceTarget must be in (0, 1]' });
    } else if (o.timeSliceTarget !== undefined) {
      errors.push({ path: [...at, 'timeSliceTarget'], message: 'RatioTimeslices averages the slices’ ratios; timeSliceTarget applies to Timeslices' });
    }
  }
  return errors;
}

function inlineOrRef<T>(
  item: Record<string, unknown>,
  at: Path,
  refField: string,
  kind: string,
  parseBody: (raw: unknown, at: Path) => Result<T>,
): { value: InlineOrRef<T> } | { errors: FieldError[] } {
  if (refField in item) {
    const r = parseWith(z.object({ [refField]: z.string().min(1) }).strict(), item, at);
    if (!r.ok) return { errors: r.errors };
    return { value: { ref: r.spec[refField] as string } };
  }
  const r = parseWith(z.object({ kind: z.literal(kind, { message: `must be ${kind} (inline) or use ${refField}` }), metadata: inlineMetadata, spec: z.unknown() }).strict(), item, at);
  if (!r.ok) return { errors: r.errors };
  const body = parseBody(r.spec.spec, [...at, 'spec']);
  if (!body.ok) return { errors: body.errors };
  return { value: { inline: { metadata: r.spec.metadata, ...body.spec } } };
}

export function parseConditionBody(raw: unknown, at: Path): Result<AlertConditionBody> {
  const r = parseWith(conditionSpecSchema, raw ?? {}, at);
  if (!r.ok) return r;
  const c = r.spec.condition;
  const errors: FieldError[] = [];
  const base = [...at, 'condition'];
  const look = parseOpenSloDuration(c.lookbackWindow, ALERT_UNITS);
  if (typeof look === 'string') errors.push({ path: [...base, 'lookbackWindow'], message: look });
  else if (look.ms > 30 * 86_400_000) errors.push({ path: [...base, 'lookbackWindow'], message: 'lookbackWindow must be at most 30d' });
  if (c.alertAfter !== undefined && !/^0+[smhdw]$/.test(c.alertAfter.trim())) {
    const d = parseOpenSloDuration(c.alertAfter, ALERT_UNITS);
    if (typeof d === 'string') errors.push({ path: [...base, 'alertAfter'], message: d });
  }
  if (c.shortWindow !== undefined) {
    const d = parseOpenSloDuration(c.shortWindow, ALERT_UNITS);
    if (typeof d === 'string') errors.push({ path: [...base, 'shortWindow'], message: d });
    else if (typeof look !== 'string' && d.ms > look.ms) errors.push({ path: [...base, 'shortWindow'], message: 'shortWindow must not be longer than lookbackWindow' });
  }
  return done(r.spec, errors);
}

export function parsePolicyBody(raw: unknown, at: Path): Result<AlertPolicyStored> {
  const r = parseWith(policySpecSchema, raw ?? {}, at);
  if (!r.ok) return r;
  const errors: FieldError[] = [];
  const conditions: InlineOrRef<AlertConditionBody>[] = [];
  r.spec.conditions.forEach((item, i) => {
    const c = inlineOrRef(item, [...at, 'conditions', i], 'conditionRef', 'AlertCondition', parseConditionBody);
    if ('errors' in c) errors.push(...c.errors);
    else conditions.push(c.value);
  });
  const targets: InlineOrRef<NotificationTargetBody>[] = [];
  (r.spec.notificationTargets ?? []).forEach((item, i) => {
    const t = inlineOrRef(item, [...at, 'notificationTargets', i], 'targetRef', 'AlertNotificationTarget', (raw2, at2) => parseWith(targetSpecSchema, raw2 ?? {}, at2));
    if ('errors' in t) errors.push(...t.errors);
    else targets.push(t.value);
  });
  const { conditions: _c, notificationTargets: _t, ...rest } = r.spec;
  return done({ ...rest, conditions, ...(r.spec.notificationTargets ? { notificationTargets: targets } : {}) }, errors);
}

function parseTopLevel<T>(doc: Record<string, unknown>, body: (raw: unknown, at: Path) => Result<T>): Result<Stored<T>> {
  const r = parseWith(document(z.unknown()), doc);
  if (!r.ok) return r;
  const b = body(r.spec.spec, ['spec']);
  if (!b.ok) return b;
  return { ok: true, spec: { metadata: r.spec.metadata, ...b.spec } };
}

export const parsePolicyDocument = (doc: Record<string, unknown>) => parseTopLevel(doc, parsePolicyBody);
export const parseConditionDocument = (doc: Record<string, unknown>) => parseTopLevel(doc, parseConditionBody);
export const parseTargetDocument = (doc: Record<string, unknown>) => parseTopLevel(doc, (raw, at) => parseWith(targetSpecSchema, raw ?? {}, at));

/** The way back from a stored form to the document's: `{ref}` to `<refField>: name`, inline to `{kind, metadata, spec}`. */
function refOrInline<T>(v: InlineOrRef<T>, refField: string, kind: string, body: (b: Omit<Stored<T>, 'metadata'>) => Record<string, unknown>): Record<string, unknown> {
  if ('ref' in v) return { [refField]: v.ref };
  const { metadata, ...rest } = v.inline;
  return { kind, metadata, spec: body(rest) };
}

const asIs = (b: object): Record<string, unknown> => ({ ...b });

function policyBodyDocument(p: AlertPolicyStored): Record<string, unknown> {
  const { conditions, notificationTargets, ...rest } = p;
  return {
    ...rest,
    conditions: conditions.map((c) => refOrInline(c, 'conditionRef', 'AlertCondition', asIs)),
    ...(notificationTargets ? { notificationTargets: notificationTargets.map((t) => refOrInline(t, 'targetRef', 'AlertNotificationTarget', asIs)) } : {}),
  };
}

/** A stored AlertPolicy as its document's metadata and spec (parsePolicyDocument reversed). */
export function policyDocument(stored: Stored<AlertPolicyStored>): { metadata: Metadata; spec: Record<string, unknown> } {
  const { metadata, ...p } = stored;
  return { metadata, spec: policyBodyDocument(p) };
}

/** A stored SLO as its document's metadata and spec (parseSloDocument reversed). */
export function sloDocument(stored: StoredSlo): { metadata: Metadata; spec: Record<string, unknown> } {
  const { metadata, indicator, alertPolicies, ...rest } = stored;
  const spec: Record<string, unknown> = { ...rest };
  if (indicator) {
    const { metadata: m, ...sli } = indicator;
    spec.indicator = { metadata: m, spec: sli };
  }
  if (alertPolicies) spec.alertPolicies = alertPolicies.map((p) => refOrInline(p, 'alertPolicyRef', 'AlertPolicy', (b) => policyBodyDocument(b as AlertPolicyStored)));
  return { metadata, spec };
}

/** Where an SLI names a DataSource (`metricSourceRef`): Keel evaluates its own events, so these only get a warning. */
export function metricSourceRefs(sli: SliSpecBody | undefined, at: Path): { path: Path; ref: string }[] {
  if (!sli) return [];
  const out: { path: Path; ref: string }[] = [];
  const add = (m: { metricSource: { metricSourceRef?: string | undefined } } | undefined, path: Path) => {
    if (m?.metricSource.metricSourceRef !== undefined) out.push({ path: [...at, ...path, 'metricSource', 'metricSourceRef'], ref: m.metricSource.metricSourceRef });
  };
  add(sli.ratioMetric?.total, ['ratioMetric', 'total']);
  add(sli.ratioMetric?.good, ['ratioMetric', 'good']);
  add(sli.ratioMetric?.bad, ['ratioMetric', 'bad']);
  add(sli.thresholdMetric, ['thresholdMetric']);
  return out;
}

export const metricSourceRefWarning = (ref: string) => `metricSourceRef "${ref}" is accepted but not queried: Keel evaluates the events it ingests with this metricSource's CEL query`;

const dataSourceSpecSchema = z.object({ description: z.string().max(1050).optional(), type: z.string().min(1), connectionDetails: z.unknown().optional() }).strict();
export type DataSourceBody = z.output<typeof dataSourceSpecSchema>;
export const parseDataSourceDocument = (doc: Record<string, unknown>) => parseTopLevel(doc, (raw, at) => parseWith(dataSourceSpecSchema, raw ?? {}, at));

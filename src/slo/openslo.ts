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
          type: z.string().refine((t) => t.toLowerCase() === 'keel', {
            message: 'Keel computes SLIs from the events it ingests: metricSource.type must be "keel"',
          }),
          spec,
        })
        .strict(),
    })
    .strict();

const querySpec = z.object({ query: cel.describe('CEL condition over event attributes') }).strict();
const thresholdSpec = z
  .object({ query: cel.describe('CEL expression: the measured number'), filter: cel.optional().describe('CEL condition: which events are measured') })
  .strict();

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
    timeWindow: z.array(timeWindowSchema).length(1, 'timeWindow must hold exactly one window'),
    budgetingMethod: z.enum(['Occurrences', 'Timeslices', 'RatioTimeslices']),
    objectives: z.array(objectiveSchema).min(1).max(10),
    alertPolicies: z.array(z.record(z.string(), z.unknown())).max(10).optional(),
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

export function parseSloDocument(doc: Record<string, unknown>): Result<StoredSlo> {
  const r = parseWith(document(sloSpecSchema), doc);
  if (!r.ok) return r;
  const s = r.spec.spec;
  const errors: FieldError[] = [];
  let indicator: Stored<SliSpecBody> | undefined;
  if (!s.indicator === !s.indicatorRef) errors.push({ path: ['spec'], message: 'an SLO needs exactly one of indicator and indicatorRef' });
  if (s.indicator) {
    const sli = checkSli(s.indicator.spec, ['spec', 'indicator', 'spec']);
    if (sli.ok) indicator = { metadata: s.indicator.metadata, ...sli.spec };
    else errors.push(...sli.errors);
  }
  const tw = s.timeWindow[0]!;
  const twPath = ['spec', 'timeWindow', 0];
  const rolling = tw.isRolling ?? !tw.calendar;
  if (rolling) {
    if (tw.calendar) errors.push({ path: [...twPath, 'calendar'], message: 'a rolling window (isRolling: true) has no calendar' });
    const d = parseOpenSloDuration(tw.duration, ROLLING_UNITS);
    if (typeof d === 'string') errors.push({ path: [...twPath, 'duration'], message: `${d}; months and longer need a calendar window` });
    else if (d.ms < 3_600_000 || d.ms > 400 * 86_400_000) errors.push({ path: [...twPath, 'duration'], message: 'a rolling window must be between 1h and 400d' });
  } else {
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
  }
  const ratio = s.indicator ? Boolean((s.indicator.spec as SliSpecBody | undefined)?.ratioMetric) : undefined;
  s.objectives.forEach((o, i) => {
    const at = ['spec', 'objectives', i];
    if ((o.target === undefined) === (o.targetPercent === undefined)) errors.push({ path: at, message: 'an objective needs exactly one of target and targetPercent' });
    if (o.target !== undefined && !(o.target >= 0 && o.target < 1)) errors.push({ path: [...at, 'target'], message: `target must be in [0, 1), got ${o.target}` });
    if (o.targetPercent !== undefined && !(o.targetPercent >= 0 && o.targetPercent < 100)) {
      errors.push({ path: [...at, 'targetPercent'], message: `targetPercent must be in [0, 100), got ${o.targetPercent}` });
    }
    if ((o.op === undefined) !== (o.value === undefined)) errors.push({ path: at, message: 'op and value go together' });
    if (ratio === true && o.op !== undefined) errors.push({ path: [...at, 'op'], message: 'op and value apply to a thresholdMetric SLI, not a ratioMetric' });
    if (ratio === false && o.op === undefined) errors.push({ path: at, message: 'a thresholdMetric SLI needs op and value in every objective' });
    if (s.budgetingMethod === 'Occurrences') {
      if (o.timeSliceTarget !== undefined || o.timeSliceWindow !== undefined) {
        errors.push({ path: at, message: 'timeSliceTarget and timeSliceWindow apply to the Timeslices and RatioTimeslices budgeting methods' });
      }
    } else {
      if (o.timeSliceWindow === undefined) errors.push({ path: at, message: `${s.budgetingMethod} needs timeSliceWindow` });
      else {
        const d = parseOpenSloDuration(typeof o.timeSliceWindow === 'number' ? `${o.timeSliceWindow}s` : o.timeSliceWindow, SLICE_UNITS);
        if (typeof d === 'string') errors.push({ path: [...at, 'timeSliceWindow'], message: d });
        else if (d.ms % 10_000 !== 0 || 86_400_000 % d.ms !== 0 || (d.ms < 3_600_000 && 3_600_000 % d.ms !== 0)) {
          errors.push({ path: [...at, 'timeSliceWindow'], message: 'timeSliceWindow must be a multiple of 10s that divides an hour (or a day, above an hour), e.g. 1m, 5m, 1h' });
        }
      }
      if (s.budgetingMethod === 'Timeslices') {
        if (o.timeSliceTarget === undefined) errors.push({ path: at, message: 'Timeslices needs timeSliceTarget' });
        else if (!(o.timeSliceTarget > 0 && o.timeSliceTarget <= 1)) errors.push({ path: [...at, 'timeSliceTarget'], message: 'timeSliceTarget must be in (0, 1]' });
      } else if (o.timeSliceTarget !== undefined) {
        errors.push({ path: [...at, 'timeSliceTarget'], message: 'RatioTimeslices averages the slices’ ratios; timeSliceTarget applies to Timeslices' });
      }
    }
  });
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
  const { indicator: _i, alertPolicies: _p, ...rest } = s;
  const spec: StoredSlo = { metadata: r.spec.metadata, ...rest, ...(indicator ? { indicator } : {}), ...(s.alertPolicies ? { alertPolicies: policies } : {}) };
  return done(spec, errors);
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
  if (c.alertAfter !== undefined) {
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

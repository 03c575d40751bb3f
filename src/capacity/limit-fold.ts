/**
 * The `limits` processor's fold, pure: a tenant's events (parsed) through each of its Limits'
 * filters into per-minute aggregates of the usage field and the capacity field.
 */
import { AttributeSlots } from '../cel/attribute-slots.js';
import { compileCel } from '../cel/compile.js';
import { OBJECT, type CelRecord, type CelValue, type CompiledExpression } from '../cel/values.js';
import type { LimitAggregate, LimitSpec } from './limit-kind.js';
import { splitField } from './limit-kind.js';

export interface CompiledLimit {
  name: string;
  filter: CompiledExpression | null;
  usage: string[];
  capacity: string[] | null;
}

export interface CompiledTenantLimits {
  slots: AttributeSlots;
  limits: CompiledLimit[];
}

export interface LimitMinute {
  tenant: string;
  name: string;
  minute: number;
  partition: number;
  n: number;
  sum: number;
  max: number;
  capN: number;
  capSum: number;
  capMax: number | null;
}

export function compileTenantLimits(specs: readonly { name: string; spec: LimitSpec }[]): CompiledTenantLimits {
  const slots = new AttributeSlots();
  const limits = specs.map(({ name, spec }) => ({
    name,
    filter: spec.filter !== undefined ? compileCel(spec.filter, 'bool', slots) : null,
    usage: splitField(spec.usage.field),
    capacity: typeof spec.capacity === 'object' ? splitField(spec.capacity.field) : null,
  }));
  return { slots, limits };
}

function at(event: unknown, path: readonly string[]): unknown {
  let v: unknown = event;
  for (const p of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

function celValue(v: unknown): CelValue {
  if (v === undefined || v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return OBJECT;
}

function record(event: unknown, slots: AttributeSlots): CelRecord {
  const r: CelRecord = new Array<CelValue>(slots.size);
  for (let i = 0; i < slots.size; i++) r[i] = celValue(at(event, slots.paths[i]!));
  const ts = r[0];
  if (typeof ts === 'string') {
    const ms = Date.parse(ts);
    r[0] = Number.isNaN(ms) ? undefined : ms;
  }
  return r;
}

/** Folds one batch's events (one tenant, one minute of arrival) into `acc`, keyed by limit name and minute. */
export function foldLimitEvents(acc: Map<string, LimitMinute>, c: CompiledTenantLimits, tenant: string, partition: number, minute: number, events: Iterable<unknown>): void {
  for (const e of events) {
    const r = record(e, c.slots);
    for (const l of c.limits) {
      if (l.filter !== null && l.filter(r) !== true) continue;
      const u = at(e, l.usage);
      if (typeof u !== 'number' || !Number.isFinite(u)) continue;
      const key = `${l.name}\u0000${minute}`;
      let m = acc.get(key);
      if (!m) {
        m = { tenant, name: l.name, minute, partition, n: 0, sum: 0, max: u, capN: 0, capSum: 0, capMax: null };
        acc.set(key, m);
      }
      m.n += 1;
      m.sum += u;
      if (u > m.max) m.max = u;
      if (l.capacity) {
        const cap = at(e, l.capacity);
        if (typeof cap === 'number' && Number.isFinite(cap)) {
          m.capN += 1;
          m.capSum += cap;
          if (m.capMax === null || cap > m.capMax) m.capMax = cap;
        }
      }
    }
  }
}

/** A minute's value of an aggregate. */
export function aggregateOf(a: LimitAggregate, m: { n: number; sum: number; max: number }): number {
  return a === 'max' ? m.max : a === 'sum' ? m.sum : m.n > 0 ? m.sum / m.n : 0;
}

/** Combines rows of one minute from several partitions. */
export function mergeMinute(rows: readonly { n: number; sum: number; max: number; capN: number; capSum: number; capMax: number | null }[]): {
  n: number;
  sum: number;
  max: number;
  capN: number;
  capSum: number;
  capMax: number | null;
} {
  const out = { n: 0, sum: 0, max: -Infinity, capN: 0, capSum: 0, capMax: null as number | null };
  for (const r of rows) {
    out.n += r.n;
    out.sum += r.sum;
    out.max = Math.max(out.max, r.max);
    out.capN += r.capN;
    out.capSum += r.capSum;
    if (r.capMax !== null) out.capMax = out.capMax === null ? r.capMax : Math.max(out.capMax, r.capMax);
  }
  return out;
}

/**
 * How breakdown series are keyed in `slo_series.breakdown` (pure). A combination of every breakdown
 * attribute's value is a JSON array (`["eu","/pay"]`, `["__other__"]` past the cap); a marginal,
 * one attribute's value whatever the others are, is a JSON object (`{"a":0,"v":"eu"}`,
 * `{"a":0,"other":true}` past the cap). Marginals are what find the cause when the combinations
 * outgrow the cap: ten regions × fifty routes are five hundred combinations but sixty marginals.
 */
import { OTHER } from './model.js';

export const OVERALL = '';
export const OTHER_KEY = JSON.stringify([OTHER]);

export const marginalKey = (attribute: number, value: string) => JSON.stringify({ a: attribute, v: value });
export const marginalOther = (attribute: number) => JSON.stringify({ a: attribute, other: true });

export type BreakdownKey = { kind: 'overall' } | { kind: 'combo'; values: string[]; other: boolean } | { kind: 'marginal'; attribute: number; value: string; other: boolean };

export function parseBreakdownKey(key: string): BreakdownKey {
  if (key === OVERALL) return { kind: 'overall' };
  const v = JSON.parse(key) as unknown;
  if (Array.isArray(v)) return { kind: 'combo', values: v.map(String), other: key === OTHER_KEY };
  const m = v as { a: number; v?: string; other?: boolean };
  return { kind: 'marginal', attribute: m.a, value: m.other ? OTHER : String(m.v), other: m.other === true };
}

/** Which cap a series counts against (combinations, or one attribute's marginals), and its `__other__` key; undefined for overall. */
export function capClass(key: string): { cls: string; other: string; isOther: boolean } | undefined {
  const k = parseBreakdownKey(key);
  if (k.kind === 'overall') return undefined;
  if (k.kind === 'combo') return { cls: 'c', other: OTHER_KEY, isOther: k.other };
  return { cls: `m${k.attribute}`, other: marginalOther(k.attribute), isOther: k.other };
}

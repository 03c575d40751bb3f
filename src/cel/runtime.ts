/**
 * Operators of compiled CEL expressions. Each checks its operand types the way CEL's overloads do
 * and returns `undefined` (CEL's error value) when no overload applies, so generated code never
 * throws. They are small and monomorphic so V8 inlines them into the generated functions.
 */
import { OBJECT, type CelValue } from './values.js';

function comparable(a: CelValue, b: CelValue): boolean {
  const t = typeof a;
  return (t === 'number' || t === 'string' || t === 'boolean') && t === typeof b;
}

export const celRuntime = {
  lt: (a: CelValue, b: CelValue): boolean | undefined => (comparable(a, b) ? (a as number) < (b as number) : undefined),
  le: (a: CelValue, b: CelValue): boolean | undefined => (comparable(a, b) ? (a as number) <= (b as number) : undefined),
  gt: (a: CelValue, b: CelValue): boolean | undefined => (comparable(a, b) ? (a as number) > (b as number) : undefined),
  ge: (a: CelValue, b: CelValue): boolean | undefined => (comparable(a, b) ? (a as number) >= (b as number) : undefined),
  /** Heterogeneous equality: values of different types are unequal; errors and objects stay errors. */
  eq: (a: CelValue, b: CelValue): boolean | undefined => (a === undefined || b === undefined || a === OBJECT || b === OBJECT ? undefined : a === b),
  ne: (a: CelValue, b: CelValue): boolean | undefined => (a === undefined || b === undefined || a === OBJECT || b === OBJECT ? undefined : a !== b),
  /** Second half of `a && b` once `a` is known not to be false: commutative error absorption. */
  and: (a: CelValue, b: CelValue): boolean | undefined => {
    if (b === false) return false;
    return a === true && b === true ? true : undefined;
  },
  /** Second half of `a || b` once `a` is known not to be true. */
  or: (a: CelValue, b: CelValue): boolean | undefined => {
    if (b === true) return true;
    return a === false && b === false ? false : undefined;
  },
  not: (a: CelValue): boolean | undefined => (typeof a === 'boolean' ? !a : undefined),
  neg: (a: CelValue): number | undefined => (typeof a === 'number' ? -a : undefined),
  add: (a: CelValue, b: CelValue): number | string | undefined => (typeof a === 'number' && typeof b === 'number' ? a + b : typeof a === 'string' && typeof b === 'string' ? a + b : undefined),
  sub: (a: CelValue, b: CelValue): number | undefined => (typeof a === 'number' && typeof b === 'number' ? a - b : undefined),
  mul: (a: CelValue, b: CelValue): number | undefined => (typeof a === 'number' && typeof b === 'number' ? a * b : undefined),
  div: (a: CelValue, b: CelValue): number | undefined => (typeof a === 'number' && typeof b === 'number' ? a / b : undefined),
  mod: (a: CelValue, b: CelValue): number | undefined => (typeof a === 'number' && typeof b === 'number' && b !== 0 ? a % b : undefined),
  inSet: (a: CelValue, set: ReadonlySet<unknown>): boolean | undefined => (a === undefined || a === OBJECT ? undefined : set.has(a)),
  size: (a: CelValue): number | undefined => (typeof a === 'string' ? codePoints(a) : undefined),
  startsWith: (a: CelValue, b: CelValue): boolean | undefined => (typeof a === 'string' && typeof b === 'string' ? a.startsWith(b) : undefined),
  endsWith: (a: CelValue, b: CelValue): boolean | undefined => (typeof a === 'string' && typeof b === 'string' ? a.endsWith(b) : undefined),
  contains: (a: CelValue, b: CelValue): boolean | undefined => (typeof a === 'string' && typeof b === 'string' ? a.includes(b) : undefined),
  matches: (a: CelValue, re: RegExp): boolean | undefined => (typeof a === 'string' ? re.test(a) : undefined),
  toInt: (a: CelValue): number | undefined => {
    if (typeof a === 'number') return Number.isFinite(a) && Math.abs(a) < 2 ** 63 ? Math.trunc(a) + 0 : undefined;
    if (typeof a === 'string' && /^[+-]?\d{1,18}$/.test(a)) return Number(a);
    return undefined;
  },
  toDouble: (a: CelValue): number | undefined => {
    if (typeof a === 'number') return a;
    if (typeof a === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(a)) return Number(a);
    return undefined;
  },
  toString: (a: CelValue): string | undefined => (typeof a === 'string' ? a : typeof a === 'number' || typeof a === 'boolean' ? String(a) : undefined),
};

export type CelRuntime = typeof celRuntime;

function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--;
  }
  return n;
}

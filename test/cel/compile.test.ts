import { evaluate } from '@marcbachmann/cel-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttributeSlots } from '../../src/cel/attribute-slots.js';
import { analyzeCel, compileCel } from '../../src/cel/compile.js';
import type { CelRecord } from '../../src/cel/values.js';
import { fillFromObject } from '../../src/slo/event-scanner.js';

/** Compiles and runs an expression on one event; undefined is CEL's error value. */
function run(expr: string, event: Record<string, unknown>): unknown {
  const slots = new AttributeSlots();
  const fn = compileCel(expr, 'bool', slots);
  const record: CelRecord = new Array(slots.size);
  fillFromObject(event, slots.paths, record);
  return fn(record);
}

/** The library's evaluator: true, false, or 'error'. */
function library(expr: string, event: Record<string, unknown>): unknown {
  try {
    const v = evaluate(expr, event);
    return typeof v === 'boolean' ? v : 'error';
  } catch {
    return 'error';
  }
}

describe('compiled CEL', () => {
  it('evaluates filters the way SLOs use them', () => {
    const ev = { service: 'checkout', status: 503, latency_ms: 250.5, region: 'eu-west-1', http: { route: '/pay', code: 200 }, ok: true, none: null };
    const cases: [string, unknown][] = [
      ['service == "checkout"', true],
      ['service == "checkout" && status < 500', false],
      ['status >= 500 || latency_ms > 1000', true],
      ['region in ["eu-west-1", "eu-central-1"]', true],
      ['region.startsWith("eu-") && !(status == 200)', true],
      ['http.route == "/pay" && http.code < 300', true],
      ['has(http.code)', true],
      ['has(http.missing)', false],
      ['latency_ms / 1000 < 0.3', true],
      ['size(service) == 8', true],
      ['service.matches("^check")', true],
      ['int(latency_ms) == 250', true],
      ['string(status) == "503"', true],
      ['double("2.5") < latency_ms', true],
      ['ok == true && none == null', true],
      ['status > 500 ? region.endsWith("1") : false', true],
      ['service.contains("out")', true],
      ['status == "503"', false],
    ];
    for (const [expr, want] of cases) expect(run(expr, ev), expr).toBe(want);
  });

  it('treats a missing attribute or a type mismatch as CEL’s error value, absorbed by && and ||', () => {
    expect(run('missing < 5', {})).toBeUndefined();
    expect(run('status < 500', { status: 'ok' })).toBeUndefined();
    expect(run('missing < 5 || status == 200', { status: 200 })).toBe(true);
    expect(run('missing < 5 && status == 500', { status: 200 })).toBe(false);
    expect(run('missing < 5 && status == 200', { status: 200 })).toBeUndefined();
    expect(run('has(http.code)', {})).toBeUndefined();
    expect(run('has(http.code)', { http: 'flat' })).toBe(false);
  });

  it('refuses what does not compile, with the position, and expressions that read no attribute', () => {
    const syntax = analyzeCel('status < ', 'bool');
    expect(syntax.ok).toBe(false);
    if (!syntax.ok) expect(syntax.problem.offset).toBeGreaterThan(0);
    const constant = analyzeCel('1 == 1', 'bool');
    expect(constant.ok).toBe(false);
    if (!constant.ok) expect(constant.problem.message).toMatch(/references no event attribute/);
    const notBool = analyzeCel('latency_ms + 1', 'bool');
    expect(!notBool.ok && notBool.problem.message).toMatch(/must be a boolean condition/);
    const fn = analyzeCel('lookup(service)', 'bool');
    expect(!fn.ok && fn.problem.message).toMatch(/overload|not supported/);
    const regex = analyzeCel('service.matches("(")', 'bool');
    expect(!regex.ok && regex.problem.message).toMatch(/regular expression/);
    expect(analyzeCel('latency_ms * 1.5', 'number').ok).toBe(true);
    expect(analyzeCel('x'.repeat(5000), 'bool').ok).toBe(false);
  });

  it('never turns expression text into code', () => {
    const evil = 'service == "\\"); process.exit(1); (\\"" && status < 5';
    expect(run(evil, { service: '"); process.exit(1); ("', status: 1 })).toBe(true);
  });

  it('agrees with the cel-js evaluator on random expressions and events', () => {
    const num = fc.oneof(fc.integer({ min: -3, max: 600 }), fc.double({ min: -10, max: 600, noNaN: true, noDefaultInfinity: true }));
    const str = fc.constantFrom('a', 'ab', 'checkout', 'eu-west-1', '', 'B');
    const value = fc.oneof(num, str, fc.boolean(), fc.constant(null));
    const event = fc.record({ n: value, m: value, s: value, b: value, o: fc.oneof(value, fc.record({ k: value }, { requiredKeys: [] })) }, { requiredKeys: [] });
    const numLit = fc.integer({ min: 0, max: 500 }).map(String);
    const strLit = str.map((s) => JSON.stringify(s));
    const attr = fc.constantFrom('n', 'm', 's', 'b', 'o.k');
    const { expr } = fc.letrec<{ expr: string; atom: string }>((tie) => ({
      atom: fc.oneof(
        fc.tuple(attr, fc.constantFrom('<', '<=', '>', '>=', '==', '!='), numLit).map(([a, op, l]) => `${a} ${op} ${l}`),
        fc.tuple(attr, fc.constantFrom('==', '!='), strLit).map(([a, op, l]) => `${a} ${op} ${l}`),
        fc.tuple(attr, fc.array(strLit, { minLength: 1, maxLength: 3 })).map(([a, l]) => `${a} in [${l.join(', ')}]`),
        fc.tuple(attr, fc.constantFrom('startsWith', 'endsWith', 'contains'), strLit).map(([a, f, l]) => `${a}.${f}(${l})`),
        attr.map((a) => `${a} == true`),
        attr.map((a) => `${a} == null`),
        fc.constant('has(o.k)'),
      ),
      expr: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        tie('atom'),
        fc.tuple(tie('expr'), fc.constantFrom('&&', '||'), tie('expr')).map(([a, op, b]) => `(${a}) ${op} (${b})`),
        tie('expr').map((e) => `!(${e})`),
      ),
    })) as { expr: fc.Arbitrary<string> };
    fc.assert(
      fc.property(expr, event, (e, ev) => {
        const mine = run(e, ev);
        expect(mine === undefined ? 'error' : mine, `${e} on ${JSON.stringify(ev)}`).toBe(library(e, ev));
      }),
      { numRuns: 600, seed: 20261125 },
    );
  });
});

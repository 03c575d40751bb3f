/**
 * CEL filters compiled to JavaScript. `@marcbachmann/cel-js` parses and type-checks the expression
 * (so syntax and types follow the CEL specification and its error messages); this module then turns
 * the AST into one generated JavaScript function over a record of extracted attribute values.
 *
 * Why generate code: SLO aggregation evaluates about ten filters per event at a million events per
 * second, and the library's tree-walking evaluator cannot keep up. Measured with `keel bench slo`
 * (the 10 bench SLOs, evaluators alone on already extracted events, 2 shared and loaded cores):
 * cel-js 3.2-4.7 M evaluations/s, this compiler 22-31 M evaluations/s (6-10x); with JSON.parse in
 * front, 56-105 k vs 145-280 k events/s. Every run of the bench prints both (docs/slo.md).
 *
 * Safety: the generated source holds only operators, integers (slot and table indices) and finite
 * numbers; every string, set and regular expression from the expression is passed in a table, so
 * no user text ever becomes code.
 *
 * Semantics (documented in docs/slo.md): event numbers are CEL doubles and integer literals are
 * promoted to double, so `latency_ms / 1000 > 0.3` works; a missing attribute or a type mismatch
 * is CEL's error value, absorbed by `&&`/`||` when the other side decides, otherwise "no match".
 */
import { Environment, parse, type ASTNode } from '@marcbachmann/cel-js';
import { AttributeSlots, formatPath } from './attribute-slots.js';
import { celRuntime } from './runtime.js';
import { OBJECT, type CompiledExpression } from './values.js';

export type CelResultKind = 'bool' | 'number';

export interface CelProblem {
  message: string;
  /** 0-based character offset in the expression. */
  offset: number;
}

export interface CelAnalysis {
  source: string;
  ast: ASTNode;
  /** Attribute paths the expression reads (dotted paths split into segments). */
  paths: string[][];
}

export class CelCompileError extends Error {
  constructor(readonly problem: CelProblem) {
    super(problem.message);
  }
}

export const MAX_EXPRESSION_LENGTH = 4096;

// One environment for type checking: every attribute is a dynamically typed variable.
let checker: Environment | undefined;
function env(): Environment {
  checker ??= new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });
  return checker;
}

const BOOL_TYPES = new Set(['bool', 'dyn']);
const NUMBER_TYPES = new Set(['int', 'uint', 'double', 'dyn']);

/** Parses, type-checks and inspects an expression; the problem, if any, has an offset. */
export function analyzeCel(source: string, kind: CelResultKind): { ok: true; analysis: CelAnalysis } | { ok: false; problem: CelProblem } {
  if (source.length > MAX_EXPRESSION_LENGTH) return { ok: false, problem: { message: `expression is longer than ${MAX_EXPRESSION_LENGTH} characters`, offset: 0 } };
  if (source.trim() === '') return { ok: false, problem: { message: 'expression is empty', offset: 0 } };
  let ast: ASTNode;
  try {
    ast = parse(source).ast;
  } catch (e) {
    return { ok: false, problem: libraryProblem(e) };
  }
  let check;
  try {
    check = env().check(source);
  } catch (e) {
    return { ok: false, problem: libraryProblem(e) };
  }
  if (!check.valid) return { ok: false, problem: libraryProblem(check.error) };
  const allowed = kind === 'bool' ? BOOL_TYPES : NUMBER_TYPES;
  if (check.type && !allowed.has(check.type)) {
    return { ok: false, problem: { message: `must be ${kind === 'bool' ? 'a boolean condition' : 'a number'}, but its type is ${check.type}`, offset: 0 } };
  }
  try {
    const paths = new Map<string, string[]>();
    new Generator(new AttributeSlots(), (p) => paths.set(p.join('\u0000'), p)).expression(ast);
    const list = [...paths.values()];
    if (list.length === 0) return { ok: false, problem: { message: 'references no event attribute, so it would give the same answer for every event', offset: 0 } };
    return { ok: true, analysis: { source, ast, paths: list } };
  } catch (e) {
    if (e instanceof CelCompileError) return { ok: false, problem: e.problem };
    throw e;
  }
}

/** Compiles an expression into a function over records laid out by `slots` (throws CelCompileError). */
export function compileCel(source: string, kind: CelResultKind, slots: AttributeSlots): CompiledExpression {
  const r = analyzeCel(source, kind);
  if (!r.ok) throw new CelCompileError(r.problem);
  const gen = new Generator(slots);
  const body = gen.expression(r.analysis.ast);
  const temps = gen.temps > 0 ? `let ${Array.from({ length: gen.temps }, (_, i) => `t${i}`).join(', ')};` : '';
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the AST only; see the module comment.
  const factory = new Function('H', 'K', 'S', 'R', 'O', `"use strict"; return function celExpression(r) { ${temps} return ${body}; };`) as (...args: unknown[]) => CompiledExpression;
  return factory(celRuntime, gen.constants, gen.sets, gen.regexes, OBJECT);
}

function libraryProblem(e: unknown): CelProblem {
  const err = e as { summary?: string; message?: string; range?: { start: number }; node?: { start?: number; pos?: number } } | undefined;
  const message = err?.summary ?? err?.message?.split('\n')[0] ?? 'invalid expression';
  const offset = err?.range?.start ?? err?.node?.start ?? err?.node?.pos ?? 0;
  return { message, offset };
}

function unsupported(node: ASTNode, what: string): CelCompileError {
  return new CelCompileError({ message: `${what} is not supported in SLO expressions`, offset: node.range?.start ?? node.pos ?? 0 });
}

type Literal = string | number | boolean | null;

const BINARY: Record<string, keyof typeof celRuntime> = {
  '==': 'eq',
  '!=': 'ne',
  '<': 'lt',
  '<=': 'le',
  '>': 'gt',
  '>=': 'ge',
  '+': 'add',
  '-': 'sub',
  '*': 'mul',
  '/': 'div',
  '%': 'mod',
};

class Generator {
  temps = 0;
  readonly constants: string[] = [];
  readonly sets: ReadonlySet<unknown>[] = [];
  readonly regexes: RegExp[] = [];

  constructor(
    private readonly slots: AttributeSlots,
    private readonly onPath: (path: string[]) => void = () => undefined,
  ) {}

  expression(node: ASTNode): string {
    switch (node.op) {
      case 'value':
        return this.literalCode(literal(node));
      case 'id':
      case '.':
      case '[]':
        return this.read(this.path(node));
      case '.?':
      case '[?]':
        throw unsupported(node, 'optional field selection');
      case '&&': {
        const t = `t${this.temps++}`;
        return `((${t} = ${this.expression(node.args[0])}) === false ? false : H.and(${t}, ${this.expression(node.args[1])}))`;
      }
      case '||': {
        const t = `t${this.temps++}`;
        return `((${t} = ${this.expression(node.args[0])}) === true ? true : H.or(${t}, ${this.expression(node.args[1])}))`;
      }
      case '?:': {
        const t = `t${this.temps++}`;
        const [c, a, b] = node.args;
        return `((${t} = ${this.expression(c)}) === true ? ${this.expression(a)} : ${t} === false ? ${this.expression(b)} : undefined)`;
      }
      case '!_':
        return `H.not(${this.expression(node.args)})`;
      case '-_': {
        const inner = node.args;
        if (inner.op === 'value') {
          const v = literal(inner);
          if (typeof v === 'number') return this.literalCode(-v);
        }
        return `H.neg(${this.expression(inner)})`;
      }
      case 'in': {
        const [value, container] = node.args;
        return `H.inSet(${this.expression(value)}, S[${this.set(container)}])`;
      }
      case 'call':
        return this.call(node, node.args[0], null, node.args[1]);
      case 'rcall':
        return this.call(node, node.args[0], node.args[1], node.args[2]);
      case 'list':
      case 'map':
        throw unsupported(node, 'a list or map outside `in`');
      default: {
        const fn = BINARY[node.op];
        if (!fn) throw unsupported(node, `operator ${node.op}`);
        const [a, b] = node.args as [ASTNode, ASTNode];
        return `H.${fn}(${this.expression(a)}, ${this.expression(b)})`;
      }
    }
  }

  private literalCode(v: Literal): string {
    if (typeof v === 'string') {
      this.constants.push(v);
      return `K[${this.constants.length - 1}]`;
    }
    if (typeof v === 'number') return Object.is(v, -0) ? '(-0)' : v < 0 ? `(${String(v)})` : String(v);
    return String(v);
  }

  /** An attribute path: `a`, `a.b`, `a["b-c"]`. */
  private path(node: ASTNode): string[] {
    if (node.op === 'id') return [node.args];
    if (node.op === '.') return [...this.path(node.args[0]), node.args[1]];
    if (node.op === '[]') {
      const [obj, index] = node.args;
      const key = index.op === 'value' ? literal(index) : undefined;
      if (typeof key !== 'string') throw unsupported(node, 'indexing with anything but a string literal');
      return [...this.path(obj), key];
    }
    throw unsupported(node, 'field selection on a computed value');
  }

  private read(path: string[]): string {
    this.onPath(path);
    return `r[${this.slots.slot(path)}]`;
  }

  private set(node: ASTNode): number {
    let values: Literal[];
    if (node.op === 'list') values = node.args.map((n) => literalOf(n, 'list elements of `in`'));
    else if (node.op === 'map') values = node.args.map(([k]) => literalOf(k, 'map keys of `in`'));
    else throw unsupported(node, '`in` over anything but a list or map literal');
    this.sets.push(new Set(values));
    return this.sets.length - 1;
  }

  private call(node: ASTNode, name: string, receiver: ASTNode | null, args: ASTNode[]): string {
    const all = receiver ? [receiver, ...args] : args;
    const arity = (n: number) => {
      if (all.length !== n) throw unsupported(node, `${name}() with ${all.length} argument(s)`);
    };
    switch (name) {
      case 'has': {
        arity(1);
        const target = all[0]!;
        if (receiver || (target.op !== '.' && target.op !== '[]')) throw unsupported(node, 'has() on anything but a field selection');
        // As cel-js does: an error when the parent is missing, false when it is not an object.
        const path = this.path(target);
        const parent = this.read(path.slice(0, -1));
        const t = `t${this.temps++}`;
        return `((${t} = ${parent}) === O ? ${this.read(path)} !== undefined : ${t} === undefined ? undefined : false)`;
      }
      case 'size':
        arity(1);
        return `H.size(${this.expression(all[0]!)})`;
      case 'startsWith':
      case 'endsWith':
      case 'contains':
        arity(2);
        if (!receiver) throw unsupported(node, `${name}() as a global function`);
        return `H.${name}(${this.expression(all[0]!)}, ${this.expression(all[1]!)})`;
      case 'matches': {
        arity(2);
        const pattern = all[1]!.op === 'value' ? literal(all[1]!) : undefined;
        if (typeof pattern !== 'string') throw unsupported(node, 'matches() with a pattern that is not a string literal');
        let re: RegExp;
        try {
          re = new RegExp(pattern);
        } catch (e) {
          throw new CelCompileError({ message: `invalid regular expression: ${(e as Error).message}`, offset: all[1]!.range?.start ?? 0 });
        }
        this.regexes.push(re);
        return `H.matches(${this.expression(all[0]!)}, R[${this.regexes.length - 1}])`;
      }
      case 'int':
        arity(1);
        return `H.toInt(${this.expression(all[0]!)})`;
      case 'double':
        arity(1);
        return `H.toDouble(${this.expression(all[0]!)})`;
      case 'string':
        arity(1);
        return `H.toString(${this.expression(all[0]!)})`;
      case 'dyn':
        arity(1);
        return this.expression(all[0]!);
      default:
        throw unsupported(node, `the function ${name}()`);
    }
  }
}

function literal(node: ASTNode): Literal {
  const v = node.args as unknown;
  if (typeof v === 'bigint') {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw unsupported(node, 'an integer literal beyond ±2^53');
    return Number(v);
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw unsupported(node, 'a non-finite number');
    return v;
  }
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
  throw unsupported(node, 'a bytes or unsigned literal');
}

function literalOf(node: ASTNode, what: string): Literal {
  if (node.op === 'value') return literal(node);
  if (node.op === '-_' && node.args.op === 'value') {
    const v = literal(node.args);
    if (typeof v === 'number') return -v;
  }
  throw unsupported(node, `${what} that are not literals`);
}

export { formatPath };

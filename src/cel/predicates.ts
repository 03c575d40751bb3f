/**
 * The equality predicates an expression cannot be true without: the conjuncts of its top-level
 * `&&` that compare one attribute with literals (`service == "checkout"`, `"eu" == region`,
 * `region in ["eu-west-1", "us-east-1"]`, or `route == "/a" || route == "/b"`). An index over them
 * lets the SLO fold skip every expression whose predicates an event cannot satisfy.
 *
 * Why this is exact: a compiled `a && b` is true only when both sides are true (CEL's error
 * absorption never turns an error into true), `==` is true only for the identical value (`===`),
 * and `in` only when the set holds the value (SameValueZero, which a Map lookup also uses). So an
 * event whose attribute value is not among a predicate's literals cannot make the expression true.
 */
import { parse, type ASTNode } from '@marcbachmann/cel-js';

export type PredicateLiteral = string | number | boolean | null;

export interface EqualityPredicate {
  /** The attribute path, split into segments as `AttributeSlots` expects. */
  path: string[];
  /** The values one of which the attribute must equal. */
  values: PredicateLiteral[];
}

/** The predicates of `source`; empty when it has none (or does not parse: the compiler reports that). */
export function equalityPredicates(source: string): EqualityPredicate[] {
  let ast: ASTNode;
  try {
    ast = parse(source).ast;
  } catch {
    return [];
  }
  const out: EqualityPredicate[] = [];
  const conjuncts = (node: ASTNode): void => {
    if (node.op === '&&') {
      conjuncts(node.args[0]);
      conjuncts(node.args[1]);
      return;
    }
    const p = predicate(node);
    if (p) out.push(p);
  };
  conjuncts(ast);
  return out;
}

function predicate(node: ASTNode): EqualityPredicate | null {
  switch (node.op) {
    case '==': {
      const [a, b] = node.args as [ASTNode, ASTNode];
      const path = pathOf(a) ?? pathOf(b);
      const lit = pathOf(a) ? literalOf(b) : literalOf(a);
      return path && lit !== undefined ? { path, values: [lit] } : null;
    }
    case 'in': {
      const [value, container] = node.args as [ASTNode, ASTNode];
      const path = pathOf(value);
      if (!path) return null;
      const members: ASTNode[] = container.op === 'list' ? (container.args as ASTNode[]) : container.op === 'map' ? (container.args as [ASTNode, ASTNode][]).map(([k]) => k) : [];
      if (container.op !== 'list' && container.op !== 'map') return null;
      const values: PredicateLiteral[] = [];
      for (const m of members) {
        const v = literalOf(m);
        if (v === undefined) return null;
        values.push(v);
      }
      return { path, values };
    }
    case '||': {
      // `route == "/a" || route == "/b"` is `route in ["/a", "/b"]`: true only if one side is.
      const a = predicate(node.args[0]);
      const b = predicate(node.args[1]);
      if (!a || !b || a.path.join('\u0000') !== b.path.join('\u0000')) return null;
      return { path: a.path, values: [...a.values, ...b.values] };
    }
    default:
      return null;
  }
}

function pathOf(node: ASTNode): string[] | null {
  if (node.op === 'id') return [node.args];
  if (node.op === '.') {
    const base = pathOf(node.args[0]);
    return base ? [...base, node.args[1]] : null;
  }
  if (node.op === '[]') {
    const base = pathOf(node.args[0]);
    const key = literalOf(node.args[1]);
    return base && typeof key === 'string' ? [...base, key] : null;
  }
  return null;
}

/** A literal as the compiled expression sees it (integers as doubles), or undefined. */
function literalOf(node: ASTNode): PredicateLiteral | undefined {
  if (node.op === '-_' && node.args.op === 'value') {
    const v = literalOf(node.args);
    return typeof v === 'number' ? -v : undefined;
  }
  if (node.op !== 'value') return undefined;
  const v = node.args as unknown;
  if (typeof v === 'bigint') return v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
  return undefined;
}

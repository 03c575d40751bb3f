/**
 * Runbook templates: `{{ params.tenant }}`, `{{ steps.check.output.status }}`,
 * `{{ alert.labels.service }}`, `{{ incident.number }}`, `{{ secrets.webhook-token }}`.
 * Only dotted paths, no code: checked at `plan` (unknown parameter, step or field refused with its
 * path) and rendered at run time. Pure.
 */

const TEMPLATE = /\{\{\s*([^}]*?)\s*\}\}/g;
const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** What the template references may name, as seen from one step. */
export interface TemplateScope {
  params: ReadonlySet<string>;
  /** Earlier steps (name → the output fields its kind gives; `*` = any nested field). */
  steps: ReadonlyMap<string, readonly string[]>;
  /** Whether `{{ secrets.NAME }}` is allowed here (http and command fields only). */
  secrets: boolean;
}

export const ALERT_FIELDS = ['labels', 'summary', 'severity', 'source', 'dedup_key', 'status'] as const;
export const INCIDENT_FIELDS = ['id', 'number', 'title', 'severity', 'service', 'state'] as const;
export const RUN_FIELDS = ['id', 'runbook', 'actor', 'trigger'] as const;

/** Every `{{ … }}` reference in a text, as dotted paths split into segments. */
export function references(text: string): { raw: string; path: string[] }[] {
  const out: { raw: string; path: string[] }[] = [];
  for (const m of text.matchAll(TEMPLATE)) out.push({ raw: m[0], path: (m[1] ?? '').split('.') });
  return out;
}

/** Why a reference cannot resolve, or undefined when it can. */
export function checkPath(path: readonly string[], scope: TemplateScope): string | undefined {
  const shown = path.join('.');
  if (path.some((s) => !SEGMENT.test(s))) return `"${shown}" is not a dotted path (letters, digits, "_" and "-" between dots)`;
  const [root, a, b, c] = path;
  switch (root) {
    case 'params':
      if (path.length !== 2) return `"${shown}": write params.NAME`;
      return scope.params.has(a!) ? undefined : `unknown parameter "${a}"${scope.params.size ? ` (parameters: ${[...scope.params].join(', ')})` : ' (the runbook declares none)'}`;
    case 'steps': {
      if (!a) return `"${shown}": write steps.NAME.output.FIELD`;
      const fields = scope.steps.get(a);
      if (!fields) return `unknown step "${a}": a template may only read steps before its own${scope.steps.size ? ` (${[...scope.steps.keys()].join(', ')})` : ''}`;
      if (b !== 'output' || !c) return `"${shown}": write steps.${a}.output.FIELD`;
      if (fields.includes('*') || fields.includes(c)) return undefined;
      return `unknown field "${c}" of step "${a}" (its output has ${fields.join(', ') || 'no fields'})`;
    }
    case 'alert':
      if (!a || !(ALERT_FIELDS as readonly string[]).includes(a)) return `unknown alert field "${a ?? ''}" (fields: ${ALERT_FIELDS.join(', ')})`;
      if (a === 'labels' ? path.length !== 3 : path.length !== 2) return `"${shown}": write alert.${a === 'labels' ? 'labels.NAME' : a}`;
      return undefined;
    case 'incident':
      if (path.length !== 2 || !(INCIDENT_FIELDS as readonly string[]).includes(a!)) return `unknown incident field "${path.slice(1).join('.')}" (fields: ${INCIDENT_FIELDS.join(', ')})`;
      return undefined;
    case 'run':
      if (path.length !== 2 || !(RUN_FIELDS as readonly string[]).includes(a!)) return `unknown run field "${path.slice(1).join('.')}" (fields: ${RUN_FIELDS.join(', ')})`;
      return undefined;
    case 'secrets':
      if (!scope.secrets) return 'secrets may only be used in http and command steps';
      if (path.length !== 2) return `"${shown}": write secrets.NAME`;
      return undefined;
    default:
      return `unknown template root "${root}" (use params, steps, alert, incident, run or secrets)`;
  }
}

/** The secret names a text references. */
export function secretNames(text: string): string[] {
  return references(text)
    .filter((r) => r.path[0] === 'secrets' && r.path.length === 2)
    .map((r) => r.path[1]!);
}

/** Looks a dotted path up in a nested value; undefined when absent. */
export function lookup(root: unknown, path: readonly string[]): unknown {
  let v: unknown = root;
  for (const s of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[s];
  }
  return v;
}

export class TemplateError extends Error {}

/**
 * Replaces every reference with its value (objects as JSON). `secret(name)` gives a secret's
 * value, or the mask when rendering for the record. A missing value is an error naming it: a
 * step never runs with half its text filled in.
 */
export function render(text: string, values: Record<string, unknown>, secret: (name: string) => string): string {
  return text.replace(TEMPLATE, (_raw, inner: string) => {
    const path = inner.split('.');
    if (path[0] === 'secrets' && path.length === 2) return secret(path[1]!);
    const v = lookup(values, path);
    if (v === undefined || v === null) throw new TemplateError(`{{ ${inner} }} has no value in this run`);
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

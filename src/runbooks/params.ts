/**
 * A run's parameters: given values (from `--param k=v`, the API or a trigger) checked against the
 * runbook's typed parameters, defaults filled in. Pure; errors name `params.NAME`.
 */
import { KeelError, type ErrorDetail } from '../core/errors.js';
import type { RunbookSpec } from './spec.js';

export type ParamValue = string | number | boolean;

export function resolveParams(declared: RunbookSpec['parameters'], given: Record<string, ParamValue>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  const details: ErrorDetail[] = [];
  for (const name of Object.keys(given)) {
    if (!(name in declared)) details.push({ path: `params.${name}`, message: `unknown parameter (the runbook has ${Object.keys(declared).join(', ') || 'none'})` });
  }
  for (const [name, p] of Object.entries(declared)) {
    const v = given[name];
    if (v === undefined) {
      if (p.default !== undefined) out[name] = p.default;
      else if (p.required) details.push({ path: `params.${name}`, message: 'required' });
      continue;
    }
    const text = String(v);
    if (p.type === 'number') {
      const n = typeof v === 'number' ? v : text.trim() === '' ? NaN : Number(text);
      if (!Number.isFinite(n)) details.push({ path: `params.${name}`, message: `a number, not "${text}"` });
      else out[name] = n;
    } else if (p.type === 'bool') {
      if (v === true || text === 'true') out[name] = true;
      else if (v === false || text === 'false') out[name] = false;
      else details.push({ path: `params.${name}`, message: `true or false, not "${text}"` });
    } else if (p.type === 'enum') {
      if ((p.values ?? []).includes(text)) out[name] = text;
      else details.push({ path: `params.${name}`, message: `one of ${(p.values ?? []).join(', ')}, not "${text}"` });
    } else {
      if (text.length > 1000) details.push({ path: `params.${name}`, message: 'at most 1000 characters' });
      else out[name] = text;
    }
  }
  if (details.length) throw new KeelError('validation_failed', `invalid parameters: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, { details });
  return out;
}

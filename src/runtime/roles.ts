/** `--role ingest|worker|evaluator|api|all`, or several joined by commas (`ingest,worker`). */
import type { Roles } from '../module/context.js';
import { KeelError } from '../core/errors.js';

export const ROLE_NAMES = ['ingest', 'worker', 'evaluator', 'api'] as const;

export function parseRoles(text: string): Roles {
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new KeelError('validation_failed', '--role needs a value: ingest, worker, evaluator, api or all');
  const roles: Roles = { ingest: false, worker: false, evaluator: false, api: false };
  for (const p of parts) {
    if (p === 'all') {
      for (const r of ROLE_NAMES) roles[r] = true;
    } else if ((ROLE_NAMES as readonly string[]).includes(p)) {
      roles[p as (typeof ROLE_NAMES)[number]] = true;
    } else {
      throw new KeelError('validation_failed', `unknown role "${p}": use ingest, worker, evaluator, api or all (or several, comma-separated)`);
    }
  }
  return roles;
}

export function roleLabel(roles: Roles): string {
  const on = ROLE_NAMES.filter((r) => roles[r]);
  return on.length === ROLE_NAMES.length ? 'all' : on.join(',');
}

/**
 * Definitions that name a paging secret which does not exist would page nobody (a webhook that
 * cannot be signed, a Slack channel without its URL) and say so only during the outage. `plan` and
 * `apply` refuse them instead, naming the field.
 */
import type { Kysely } from 'kysely';
import { readSpecs } from '../../definitions/read-specs.js';
import type { FieldError, ValidationContext } from '../../definitions/kinds.js';
import type { Database } from '../../store/schema.js';
import { secretsOf, targetOf, type ContactMethod, type Target } from './targets.js';

/** The names of the tenant's stored paging secrets (a `KindHandler.load`). */
export async function loadSecretNames(db: Kysely<Database>, tenant: string): Promise<Set<string>> {
  const rows = await db.selectFrom('paging_secrets').select('name').where('tenant_id', '=', tenant).execute();
  return new Set(rows.map((r) => r.name));
}

/** Errors for each secret `target` names that is not stored; `at` is the target's path. */
export function missingSecrets(target: Target, at: (string | number)[], ctx: ValidationContext, kind: string): FieldError[] {
  const names = ctx.loaded(kind);
  if (!(names instanceof Set)) return [];
  const field = target.type === 'webhook' ? 'signingSecret' : target.type === 'slack' ? 'webhookUrlSecret' : undefined;
  const name = target.type === 'webhook' ? target.signingSecret : target.type === 'slack' ? target.webhookUrlSecret : undefined;
  if (!field || !name || names.has(name)) return [];
  return [{ path: [...at, field], message: `no paging secret named "${name}"; store it first (keel paging secret set ${name}), or nobody can be paged through this` }];
}

/** The definitions that name secret `name` (deleting it would leave them unable to page). */
export async function secretUsers(db: Kysely<Database>, tenant: string, name: string): Promise<string[]> {
  const out: string[] = [];
  for (const u of await readSpecs<{ contactMethods?: ContactMethod[] }>(db, tenant, 'User')) {
    for (const c of u.spec.contactMethods ?? []) if (secretsOf(targetOf(c)).includes(name)) out.push(`User ${u.name} (contact method ${c.name})`);
  }
  for (const c of await readSpecs<Target>(db, tenant, 'Channel')) if (secretsOf(c.spec).includes(name)) out.push(`Channel ${c.name}`);
  // Runbooks name secrets in templates ({{ secrets.NAME }}) of their http and command steps.
  const template = new RegExp(`\\{\\{\\s*secrets\\.${name.replace(/[^A-Za-z0-9_-]/g, '')}\\s*\\}\\}`);
  for (const r of await readSpecs<unknown>(db, tenant, 'Runbook')) if (template.test(JSON.stringify(r.spec))) out.push(`Runbook ${r.name}`);
  return out;
}

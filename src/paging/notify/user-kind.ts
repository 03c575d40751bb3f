/**
 * `keel/v1 User`: a person who can be paged. Applying it creates the user (by email) if new,
 * makes them a `responder` of the tenant only if they are not a member yet (roles are security's
 * to change; their other teams are told in their audit logs), and replaces their contact methods
 * and notification rules for this tenant, all in the apply transaction. The name and time zone
 * become the person's profile only when this tenant is their one team: a profile another team
 * shares belongs to the person (docs/security.md).
 */
import type { Transaction } from 'kysely';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { parseDurationMs } from '../../core/time.js';
import type { DefinitionChange, FieldError, KindHandler, ValidationContext } from '../../definitions/kinds.js';
import { specParser, type WithMetadata } from '../../definitions/spec-parser.js';
import type { AuditLog } from '../../audit/audit-log.js';
import { joinTeam, teamOwnsProfile } from '../../people/membership.js';
import type { PeopleService } from '../../people/people-service.js';
import type { Database } from '../../store/schema.js';
import { loadSecretNames, missingSecrets } from './secret-references.js';
import { contactMethodSchema, targetOf, type ContactMethod } from './targets.js';

export const USER_KIND_ORDER = 2;

const durationText = z.string().refine((v) => Number.isFinite(parseDurationMs(v)), 'a duration such as 0m, 30s, 5m, 1h');

export const userSpecSchema = z
  .object({
    email: z.string().email().max(320),
    name: z.string().min(1).max(200),
    timeZone: z
      .string()
      .default('UTC')
      .refine((tz) => DateTime.local().setZone(tz).isValid, 'an IANA time zone such as Europe/Berlin'),
    contactMethods: z.array(contactMethodSchema).max(20).default([]),
    /** When paged, use each contact method `after` this long (if still unacknowledged). */
    notificationRules: z
      .array(z.object({ after: durationText.default('0m'), contactMethod: z.string() }).strict())
      .max(20)
      .optional(),
  })
  .strict();

export type UserSpec = WithMetadata<z.output<typeof userSpecSchema>>;

function checkUser(spec: z.output<typeof userSpecSchema>): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  spec.contactMethods.forEach((c, i) => {
    if (names.has(c.name)) errors.push({ path: ['contactMethods', i, 'name'], message: `contact method "${c.name}" is defined twice` });
    names.add(c.name);
  });
  spec.notificationRules?.forEach((r, i) => {
    if (!names.has(r.contactMethod)) errors.push({ path: ['notificationRules', i, 'contactMethod'], message: `no contact method named "${r.contactMethod}" in this user` });
  });
  return errors;
}

/** The rules in effect: the listed ones, or every contact method at once. */
export function effectiveRules(spec: { contactMethods: ContactMethod[]; notificationRules?: { after: string; contactMethod: string }[] | undefined }): { delayMs: number; contactMethod: string }[] {
  const rules = spec.notificationRules ?? spec.contactMethods.map((c) => ({ after: '0m', contactMethod: c.name }));
  return rules.map((r) => ({ delayMs: parseDurationMs(r.after), contactMethod: r.contactMethod }));
}

/** Kinds that reference users by name: who uses user `name`. */
export function userReferences(name: string, ctx: ValidationContext): string[] {
  const out: string[] = [];
  for (const d of ctx.all('Schedule')) {
    const layers = (d.spec as { layers?: { users: string[] }[] }).layers ?? [];
    if (layers.some((l) => l.users.includes(name))) out.push(`Schedule ${d.name}`);
  }
  for (const d of ctx.all('EscalationPolicy')) {
    const steps = (d.spec as { steps?: { notify: { users?: string[] } }[] }).steps ?? [];
    if (steps.some((s) => s.notify.users?.includes(name))) out.push(`EscalationPolicy ${d.name}`);
  }
  return out;
}

export function userKind(people: PeopleService, audit: AuditLog): KindHandler<UserSpec> {
  return {
    apiVersions: ['keel/v1'],
    kind: 'User',
    order: USER_KIND_ORDER,
    parse: specParser(userSpecSchema, checkUser),
    load: loadSecretNames,
    validate: (spec, name, ctx) => {
      const clash = ctx.all('User').find((d) => d.name !== name && (d.spec as UserSpec).email.toLowerCase() === spec.email.toLowerCase());
      return [
        ...(clash ? [{ path: ['spec', 'email'], message: `User ${clash.name} has the same email` }] : []),
        ...spec.contactMethods.flatMap((c, i) => missingSecrets(targetOf(c), ['spec', 'contactMethods', i], ctx, 'User')),
      ];
    },
    validateDelete: (name, ctx) => {
      const refs = userReferences(name, ctx);
      return refs.length ? [{ path: [], message: `User ${name} is used by ${refs.join(', ')}` }] : [];
    },
    onChange: async (trx: Transaction<Database>, tenant: string, change: DefinitionChange) => {
      const before = change.before?.spec as UserSpec | undefined;
      const after = change.after?.spec as UserSpec | undefined;
      if (before && (!after || before.email.toLowerCase() !== after.email.toLowerCase())) {
        const old = await people.byEmail(before.email, trx);
        if (old) await clearContacts(trx, tenant, old.id);
      }
      if (!after) return;
      // The profile is the person's: set it for someone new or held by this team alone, never for
      // someone another team shares (this team's paging uses the definition's name and zone anyway).
      const existing = await people.byEmail(after.email, trx);
      const memberships = existing ? await people.memberships(existing.id, trx) : [];
      const user = existing && !teamOwnsProfile(memberships, tenant) ? existing : await people.upsert({ email: after.email, name: after.name, timeZone: after.timeZone }, trx);
      if (!memberships.some((m) => m.tenant === tenant)) {
        await joinTeam(
          trx,
          { people, audit },
          { tenant, user, role: 'responder', actor: change.after!.updatedBy || 'system' },
          {
            ownEntry: { via: `User ${change.name}`, created: !existing },
          },
        );
      }
      await clearContacts(trx, tenant, user.id);
      for (const c of after.contactMethods) {
        await trx
          .insertInto('contact_methods')
          .values({ tenant_id: tenant, user_id: user.id, name: c.name, type: c.type, config_json: JSON.stringify(targetOf(c)) })
          .execute();
      }
      let position = 0;
      for (const r of effectiveRules(after)) {
        await trx.insertInto('notification_rules').values({ tenant_id: tenant, user_id: user.id, position: position++, delay_ms: r.delayMs, contact_method: r.contactMethod }).execute();
      }
    },
  };
}

async function clearContacts(trx: Transaction<Database>, tenant: string, userId: string): Promise<void> {
  await trx.deleteFrom('contact_methods').where('tenant_id', '=', tenant).where('user_id', '=', userId).execute();
  await trx.deleteFrom('notification_rules').where('tenant_id', '=', tenant).where('user_id', '=', userId).execute();
}

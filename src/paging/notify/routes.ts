/** HTTP routes of notifications: deliveries of an incident, one-click links, secrets, SMTP, people's contact methods. */
import { z } from 'zod';
import { SENT, defineRoute, type AnyRoute } from '../../api/route.js';
import type { Clock } from '../../core/clock.js';
import { KeelError } from '../../core/errors.js';
import type { IncidentService } from '../incidents/incident-service.js';
import { actorOf } from '../incidents/routes.js';
import { Directory } from '../oncall/directory.js';
import { iso } from '../../core/time-input.js';
import type { Store } from '../../store/store.js';
import { verifyLink, type LinkClaims } from './links.js';
import type { NotifyService } from './notify-service.js';
import { secretUsers } from './secret-references.js';
import type { SecretStore } from './secret-store.js';
import { smtpSettingsBody, type SmtpSettingsStore } from './smtp-settings.js';
import { SECRET_NAME } from './targets.js';

export interface NotifyRouteDeps {
  store: Store;
  clock: Clock;
  incidents: IncidentService;
  notify: NotifyService;
  secrets: SecretStore;
  smtp: SmtpSettingsStore;
}

const secretParam = z.object({ name: z.string().regex(SECRET_NAME, 'a secret name: lowercase letters, digits, ".", "-" or "_"') }).strict();

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}button{font-size:1.2rem;padding:.6rem 1.4rem}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

const VERB = { ack: 'Acknowledge', resolve: 'Resolve' } as const;

export function notifyRoutes(deps: NotifyRouteDeps): AnyRoute[] {
  const { store, clock, incidents, notify, secrets, smtp } = deps;
  const db = store.db;

  /** The token's claims, or a KeelError saying why the link does not work. */
  async function claimsOf(token: string): Promise<LinkClaims> {
    const key = await notify.verificationKey();
    // No key yet: no link was ever issued, so this one cannot be genuine.
    const v = key ? verifyLink(key, token, clock.now()) : ({ ok: false, reason: 'bad_signature' } as const);
    if (!v.ok) {
      if (v.reason === 'expired') throw new KeelError('gone', 'this link has expired; acknowledge in Keel or with `keel incidents ack`');
      throw new KeelError('unauthorized', 'this link is not valid (its signature does not match)');
    }
    const used = await db.selectFrom('used_link_tokens').select('used_at').where('token_id', '=', v.claims.id).executeTakeFirst();
    if (used) throw new KeelError('gone', `this link was already used at ${iso(Number(used.used_at))}`);
    return v.claims;
  }

  const wantsHtml = (accept: string | undefined) => /text\/html/.test(accept ?? '') && !/application\/json/.test(accept ?? '');

  // The token travels in the query: it is longer than a path parameter may be.
  const tokenQuery = z.object({ token: z.string().min(10).max(2048) }).strict();

  return [
    defineRoute({
      method: 'GET',
      url: '/v1/incidents/:id/notifications',
      summary: 'Deliveries of an incident: channel, status, attempts with status codes and latency',
      tags: ['incidents'],
      permission: 'incidents:read',
      params: z.object({ id: z.string().min(1).max(100) }).strict(),
      responses: [{ status: 200, description: 'Deliveries, oldest first' }],
      handler: async ({ params, principal }) => {
        const i = await incidents.require(db, principal.tenant, params.id);
        const jobs = await notify.jobsOf(i.id);
        return {
          notifications: jobs.map((j) => ({
            delivery_id: j.id,
            user_id: j.user_id,
            target: j.target_name,
            channel: j.channel,
            status: j.status,
            attempts: j.attempts,
            escalation: j.pass === null ? null : { pass: j.pass, step: j.step },
            created_at: iso(Number(j.created_at)),
            next_attempt_at: j.status === 'pending' ? iso(Number(j.next_attempt_at)) : null,
            sent_at: iso(j.sent_at === null ? null : Number(j.sent_at)),
            last_status: j.last_status,
            last_error: j.last_error,
            latency_ms: j.latency_ms === null ? null : Number(j.latency_ms),
            attempt_log: j.attempts_list.map((a) => ({ ...a, at: iso(a.at) })),
          })),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/links',
      summary: 'One-click link from a notification: shows what it will do',
      description:
        'Public; the token is signed, expires and works once. GET only shows a confirmation page with one button (link scanners and chat unfurlers fetch links with GET, which must not acknowledge anything); the button POSTs.',
      tags: ['incidents'],
      permission: 'public',
      authenticatesItself: 'a signed, expiring, single-use link token (?token=)',
      query: tokenQuery,
      responses: [
        { status: 200, description: 'What the link does' },
        { status: 401, description: 'Bad signature' },
        { status: 410, description: 'Expired or already used' },
      ],
      handler: async ({ query, request, reply }) => {
        const html = wantsHtml(request.headers.accept);
        try {
          const claims = await claimsOf(query.token);
          const i = await incidents.require(db, claims.tenant, claims.incident);
          if (!html) return { action: claims.action, incident: { id: i.id, number: i.number, title: i.title, state: i.state }, expires_at: iso(claims.exp) };
          void reply
            .type('text/html; charset=utf-8')
            .send(
              page(
                `${VERB[claims.action]} incident #${i.number}`,
                `<p><b>${escapeHtml(i.title)}</b><br>${escapeHtml(i.severity)} · ${escapeHtml(i.service ?? '-')} · now ${escapeHtml(i.state)}</p>
<form method="post"><button type="submit">${VERB[claims.action]}</button></form>`,
              ),
            );
          return SENT;
        } catch (e) {
          if (!html || !(e instanceof KeelError)) throw e;
          void reply.code(e.status).type('text/html; charset=utf-8').send(page('This link does not work', `<p>${escapeHtml(e.message)}</p>`));
          return SENT;
        }
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/links',
      summary: 'One-click link: acknowledge or resolve the incident (once)',
      description: 'Public; authenticated by the token’s signature. The actor in the timeline is the person the notification went to.',
      tags: ['incidents'],
      permission: 'public',
      authenticatesItself: 'a signed, expiring, single-use link token (?token=)',
      audit: 'incidents.link',
      query: tokenQuery,
      rawBody: { contentTypes: ['application/x-www-form-urlencoded', 'application/json', 'text/plain'], bodyLimit: 4096 },
      responses: [
        { status: 200, description: 'Done' },
        { status: 401, description: 'Bad signature' },
        { status: 409, description: 'The incident is already past that state' },
        { status: 410, description: 'Expired or already used' },
      ],
      handler: async ({ query, request, reply, audit }) => {
        const html = wantsHtml(request.headers.accept);
        try {
          const claims = await claimsOf(query.token);
          const to = claims.action === 'ack' ? 'acknowledged' : 'resolved';
          // The person the page went to, named as sessions name people (`user:<email>`).
          const person = claims.user ? await (await Directory.load(db, claims.tenant)).resolve(db, claims.user) : undefined;
          const actor = person ? `user:${person.email}` : claims.user ? `user:${claims.user}` : 'link:channel';
          const after = await incidents.inTransaction(async (trx, fx) => {
            // The primary key makes a token single-use, even with two clicks racing.
            const used = await trx
              .insertInto('used_link_tokens')
              .values({ token_id: claims.id, used_at: clock.now(), expires_at: claims.exp })
              .onConflict((oc) => oc.column('token_id').doNothing())
              .executeTakeFirst();
            if (Number(used.numInsertedOrUpdatedRows ?? 0n) === 0) throw new KeelError('gone', 'this link was already used');
            const i = await incidents.require(trx, claims.tenant, claims.incident);
            return incidents.transition(trx, i, to, actor, fx, 'via notification link');
          });
          const name = person?.name;
          audit({ target: `incident/${after.id}`, tenant: claims.tenant, after: { state: after.state, by: actor, via: 'notification link' } });
          if (!html) return { incident: { id: after.id, number: after.number, state: after.state }, by: actor };
          void reply
            .type('text/html; charset=utf-8')
            .send(page(`Incident #${after.number} ${after.state}`, `<p>${escapeHtml(after.title)}</p><p>${name ? `Thank you, ${escapeHtml(name)}.` : ''}</p>`));
          return SENT;
        } catch (e) {
          if (!html || !(e instanceof KeelError)) throw e;
          void reply.code(e.status).type('text/html; charset=utf-8').send(page('This link does not work', `<p>${escapeHtml(e.message)}</p>`));
          return SENT;
        }
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/paging/secrets',
      summary: 'Names of stored secrets (values are never shown)',
      tags: ['paging'],
      permission: 'paging:read',
      responses: [{ status: 200, description: 'Secrets' }],
      handler: async ({ principal }) => ({
        secrets: (await secrets.list(principal.tenant)).map((s) => ({ name: s.name, created_at: iso(s.createdAt), updated_at: iso(s.updatedAt), updated_by: s.updatedBy })),
      }),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/paging/secrets',
      summary: 'Store a secret (webhook signing secret, Slack webhook URL), sealed; replaces one of the same name',
      tags: ['paging'],
      permission: 'integrations:manage',
      audit: 'paging.secret.set',
      body: z.object({ name: secretParam.shape.name, value: z.string().min(1).max(8192) }).strict(),
      responses: [{ status: 200, description: 'Stored (the value is not returned)' }],
      handler: async ({ body, principal, audit }) => {
        const { info, created } = await secrets.set(principal.tenant, body.name, body.value, actorOf(principal));
        audit({ target: `secret/${body.name}`, after: { name: body.name, created } });
        return { name: info.name, created, updated_at: iso(info.updatedAt) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/paging/secrets/:name',
      summary: 'Delete a secret',
      tags: ['paging'],
      permission: 'integrations:manage',
      audit: 'paging.secret.delete',
      params: secretParam,
      responses: [
        { status: 200, description: 'Deleted' },
        { status: 409, description: 'Definitions still name it' },
      ],
      handler: async ({ params, principal, audit }) => {
        // Refused while definitions name it: they could page nobody without it.
        const users = await secretUsers(store.db, principal.tenant, params.name);
        if (users.length) throw new KeelError('conflict', `secret ${params.name} is used by ${users.join(', ')}; change them first`);
        await secrets.remove(principal.tenant, params.name);
        audit({ target: `secret/${params.name}` });
        return { deleted: params.name };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/paging/smtp',
      summary: 'The SMTP server email notifications go through (password never shown)',
      tags: ['paging'],
      permission: 'paging:read',
      responses: [
        { status: 200, description: 'Settings' },
        { status: 404, description: 'None configured' },
      ],
      handler: async ({ principal }) => {
        const v = await smtp.view(principal.tenant);
        if (!v) throw new KeelError('not_found', 'no SMTP server is configured (keel paging smtp set)');
        return v;
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/paging/smtp',
      summary: 'Set the SMTP server for email notifications (the password is stored sealed)',
      tags: ['paging'],
      permission: 'integrations:manage',
      audit: 'paging.smtp.set',
      body: smtpSettingsBody,
      responses: [{ status: 200, description: 'Settings (without the password)' }],
      handler: async ({ body, principal, audit }) => {
        await smtp.set(principal.tenant, body);
        const v = await smtp.view(principal.tenant);
        audit({ target: 'paging/smtp', after: v });
        return v;
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/paging/smtp',
      summary: 'Remove the SMTP settings',
      tags: ['paging'],
      permission: 'integrations:manage',
      audit: 'paging.smtp.delete',
      responses: [{ status: 200, description: 'Removed' }],
      handler: async ({ principal, audit }) => {
        if (!(await smtp.remove(principal.tenant))) throw new KeelError('not_found', 'no SMTP server is configured');
        audit({ target: 'paging/smtp' });
        return { deleted: 'smtp' };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/paging/people',
      summary: 'People who can be paged: users, contact methods and notification rules',
      tags: ['paging'],
      permission: 'paging:read',
      responses: [{ status: 200, description: 'People' }],
      handler: async ({ principal }) => {
        const tenant = principal.tenant;
        const directory = await Directory.load(db, tenant);
        const methods = await db.selectFrom('contact_methods').selectAll().where('tenant_id', '=', tenant).orderBy('name').execute();
        const rules = await db.selectFrom('notification_rules').selectAll().where('tenant_id', '=', tenant).orderBy('position').execute();
        return {
          people: directory.all().map((p) => ({
            handle: p.handle,
            user_id: p.id,
            email: p.email,
            name: p.name,
            time_zone: p.timeZone,
            contact_methods: methods.filter((m) => m.user_id === p.id).map((m) => ({ name: m.name, ...(JSON.parse(m.config_json) as object) })),
            notification_rules: rules.filter((r) => r.user_id === p.id).map((r) => ({ after_ms: Number(r.delay_ms), contact_method: r.contact_method })),
          })),
        };
      },
    }),
  ];
}

/** HTTP routes of notifications: deliveries of an incident, one-click links, secrets, SMTP, people's contact methods. */
import { z } from 'zod';
import { SENT, defineRoute, type AnyRoute } from '../api/route.js';
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import type { IncidentService } from '../incidents/incident-service.js';
import { actorOf } from '../incidents/routes.js';
import { Directory } from '../oncall/directory.js';
import { iso } from '../core/time-input.js';
import type { Store } from '../store/store.js';
import { LinkGate, answerLink, escapeHtml } from './link-gate.js';
import type { IncidentLinkClaims } from './links.js';
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

const VERB = { ack: 'Acknowledge', resolve: 'Resolve' } as const;

export function notifyRoutes(deps: NotifyRouteDeps): AnyRoute[] {
  const { store, clock, incidents, notify, secrets, smtp } = deps;
  const db = store.db;

  const gate = new LinkGate({ db, clock, key: () => notify.verificationKey() });
  /** Claims of an incident's link (an approval link is opened at its own address). */
  async function claimsOf(token: string): Promise<IncidentLinkClaims> {
    const claims = await gate.claims(token);
    if (claims.action === 'approve') throw new KeelError('bad_request', 'this link approves a runbook step: open it at /v1/runbooks/approval-links');
    return claims;
  }

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
      handler: async ({ query, request, reply }) =>
        answerLink(request.headers.accept, reply, async () => {
          const claims = await claimsOf(query.token);
          const i = await incidents.require(db, claims.tenant, claims.incident);
          return {
            json: { action: claims.action, incident: { id: i.id, number: i.number, title: i.title, state: i.state }, expires_at: iso(claims.exp) },
            title: `${VERB[claims.action]} incident #${i.number}`,
            body: () => `<p><b>${escapeHtml(i.title)}</b><br>${escapeHtml(i.severity)} · ${escapeHtml(i.service ?? '-')} · now ${escapeHtml(i.state)}</p>
<form method="post"><button type="submit">${VERB[claims.action]}</button></form>`,
          };
        }),
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
      handler: async ({ query, request, reply, audit }) =>
        answerLink(request.headers.accept, reply, async () => {
          const claims = await claimsOf(query.token);
          const to = claims.action === 'ack' ? 'acknowledged' : 'resolved';
          // The person the page went to, named as sessions name people (`user:<email>`).
          const person = claims.user ? await (await Directory.load(db, claims.tenant)).resolve(db, claims.user) : undefined;
          const actor = person ? `user:${person.email}` : claims.user ? `user:${claims.user}` : 'link:channel';
          const after = await incidents.inTransaction(async (trx, fx) => {
            await gate.use(trx, claims);
            const i = await incidents.require(trx, claims.tenant, claims.incident);
            return incidents.transition(trx, i, to, actor, fx, 'via notification link');
          });
          const name = person?.name;
          audit({ target: `incident/${after.id}`, tenant: claims.tenant, after: { state: after.state, by: actor, via: 'notification link' } });
          return {
            json: { incident: { id: after.id, number: after.number, state: after.state }, by: actor },
            title: `Incident #${after.number} ${after.state}`,
            body: () => `<p>${escapeHtml(after.title)}</p><p>${name ? `Thank you, ${escapeHtml(name)}.` : ''}</p>`,
          };
        }),
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

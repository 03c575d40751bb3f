/**
 * HTTP routes of the one-click links in notifications: GET shows what a link will do (scanners
 * and unfurlers fetch with GET, so it changes nothing), POST acknowledges or resolves, once.
 */
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { SENT, defineRoute, type AnyRoute } from '../../api/route.js';
import { KeelError } from '../../core/errors.js';
import { iso } from '../../core/time-input.js';
import { verifyLink, type LinkClaims } from './links.js';
import { useLinkToken } from './notify-queries.js';
import type { NotifyRouteDeps } from './route-deps.js';

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}button{font-size:1.2rem;padding:.6rem 1.4rem}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

const VERB = { ack: 'Acknowledge', resolve: 'Resolve' } as const;

const wantsHtml = (accept: string | undefined) => /text\/html/.test(accept ?? '') && !/application\/json/.test(accept ?? '');

/** Runs a link's work; for a browser, a link that does not work is a page saying why (with its status). */
async function orErrorPage<T>(html: boolean, reply: FastifyReply, work: () => Promise<T>): Promise<T | typeof SENT> {
  try {
    return await work();
  } catch (e) {
    if (!html || !(e instanceof KeelError)) throw e;
    void reply.code(e.status).type('text/html; charset=utf-8').send(page('This link does not work', `<p>${escapeHtml(e.message)}</p>`));
    return SENT;
  }
}

// The token travels in the query: it is longer than a path parameter may be.
const tokenQuery = z.object({ token: z.string().min(10).max(2048) }).strict();

export function linkRoutes({ clock, incidents, notify, queries }: Pick<NotifyRouteDeps, 'clock' | 'incidents' | 'notify' | 'queries'>): AnyRoute[] {
  /** The token's claims, or a KeelError saying why the link does not work. */
  async function claimsOf(token: string): Promise<LinkClaims> {
    const key = await notify.verificationKey();
    // No key yet: no link was ever issued, so this one cannot be genuine.
    const v = key ? verifyLink(key, token, clock.now()) : ({ ok: false, reason: 'bad_signature' } as const);
    if (!v.ok) {
      if (v.reason === 'expired') throw new KeelError('gone', 'this link has expired; acknowledge in Keel or with `keel incidents ack`');
      throw new KeelError('unauthorized', 'this link is not valid (its signature does not match)');
    }
    const usedAt = await queries.linkUsedAt(v.claims.id);
    if (usedAt !== undefined) throw new KeelError('gone', `this link was already used at ${iso(usedAt)}`);
    return v.claims;
  }

  return [
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
        return orErrorPage(html, reply, async () => {
          const claims = await claimsOf(query.token);
          const i = await queries.incident(claims.tenant, claims.incident);
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
        });
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
        return orErrorPage(html, reply, async () => {
          const claims = await claimsOf(query.token);
          const to = claims.action === 'ack' ? 'acknowledged' : 'resolved';
          // The person the page went to, named as sessions name people (`user:<email>`).
          const person = claims.user ? await queries.linkPerson(claims.tenant, claims.user) : undefined;
          const actor = person ? `user:${person.email}` : claims.user ? `user:${claims.user}` : 'link:channel';
          const after = await incidents.inTransaction(async (trx, fx) => {
            if (!(await useLinkToken(trx, claims, clock.now()))) throw new KeelError('gone', 'this link was already used');
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
        });
      },
    }),
  ];
}

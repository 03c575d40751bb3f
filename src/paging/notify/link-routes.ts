/**
 * HTTP routes of the one-click links in notifications: GET shows what a link will do (scanners
 * and unfurlers fetch with GET, so it changes nothing), POST acknowledges or resolves, once. The
 * checks every link goes through (signature, expiry, single use) are the LinkGate's.
 */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../../api/route.js';
import { KeelError } from '../../core/errors.js';
import { iso } from '../../core/time-input.js';
import { answerLink, escapeHtml } from './link-gate.js';
import type { IncidentLinkClaims } from './links.js';
import type { NotifyRouteDeps } from './route-deps.js';
import { incidentLinkSchema, usedIncidentLinkSchema } from './schemas.js';

const VERB = { ack: 'Acknowledge', resolve: 'Resolve' } as const;

// The token travels in the query: it is longer than a path parameter may be.
const tokenQuery = z.object({ token: z.string().min(10).max(2048) }).strict();

export function linkRoutes({ gate, incidents, queries }: Pick<NotifyRouteDeps, 'gate' | 'incidents' | 'queries'>): AnyRoute[] {
  /** Claims of an incident's link (an approval link is opened at its own address). */
  async function claimsOf(token: string): Promise<IncidentLinkClaims> {
    const claims = await gate.claims(token);
    if (claims.action === 'approve') throw new KeelError('bad_request', 'this link approves a runbook step: open it at /v1/runbooks/approval-links');
    return claims;
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
        { status: 200, description: 'What the link does (JSON; a browser asking for HTML gets a confirmation page)', schema: incidentLinkSchema },
        { status: 401, description: 'Bad signature' },
        { status: 410, description: 'Expired or already used' },
      ],
      handler: async ({ query, request, reply }) =>
        answerLink(request.headers.accept, reply, async () => {
          const claims = await claimsOf(query.token);
          const i = await queries.incident(claims.tenant, claims.incident);
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
        { status: 200, description: 'Done (JSON; a browser asking for HTML gets a page)', schema: usedIncidentLinkSchema },
        { status: 401, description: 'Bad signature' },
        { status: 409, description: 'The incident is already past that state' },
        { status: 410, description: 'Expired or already used' },
      ],
      handler: async ({ query, request, reply, audit }) =>
        answerLink(request.headers.accept, reply, async () => {
          const claims = await claimsOf(query.token);
          const to = claims.action === 'ack' ? 'acknowledged' : 'resolved';
          // The person the page went to, named as sessions name people (`user:<email>`).
          const person = claims.user ? await queries.linkPerson(claims.tenant, claims.user) : undefined;
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
  ];
}

/**
 * The signed one-click approval link of a runbook step (sent through the approver's contact
 * methods): GET shows a confirmation page naming the run and the step (link scanners and chat
 * unfurlers fetch links with GET, which must approve nothing); its Approve and Reject buttons POST.
 * Public: the token is the credential (signed, expiring with the step, single-use), so a forged
 * cross-site POST would need the token itself; no cookie is read.
 */
import { z } from 'zod';
import { defineRoute, type AnyRoute } from '../api/route.js';
import { KeelError, fieldError } from '../core/errors.js';
import { answerLink, escapeHtml } from '../paging/notify/link-gate.js';
import { APPROVAL_LINK_PATH, type ApprovalLinks } from './approval-links.js';

const tokenQuery = z.object({ token: z.string().min(10).max(2048) }).strict();
const iso = (t: number) => new Date(t).toISOString();
/** Why a link may not work (the same for showing and deciding). */
const REFUSALS = [
  { status: 401, description: 'Bad signature' },
  { status: 403, description: 'The person may no longer approve' },
  { status: 409, description: 'The step no longer waits for an approval' },
  { status: 410, description: 'Expired or already used' },
];

/** `decision=approve|reject`, from the page's form (urlencoded) or an API client (JSON). */
function decisionOf(contentType: string | undefined, body: unknown): boolean {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : '';
  let value: unknown;
  if (/application\/json/.test(contentType ?? '')) {
    try {
      value = (JSON.parse(text || '{}') as { decision?: unknown }).decision;
    } catch {
      throw new KeelError('bad_request', 'the body is not JSON');
    }
  } else value = new URLSearchParams(text).get('decision');
  if (value !== 'approve' && value !== 'reject') throw fieldError('decision', 'approve or reject');
  return value === 'approve';
}

export function approvalLinkRoutes(links: ApprovalLinks): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: APPROVAL_LINK_PATH,
      summary: 'One-click approval link: shows the run and step it approves, with Approve and Reject buttons',
      description: 'Public; the token is signed, expires with the step’s timeout and works once. GET changes nothing.',
      tags: ['runbooks'],
      permission: 'public',
      authenticatesItself: 'a signed, expiring, single-use link token (?token=)',
      query: tokenQuery,
      responses: [
        {
          status: 200,
          description: 'What the link approves',
          schema: z.object({
            action: z.literal('approve'),
            run: z.object({ id: z.string(), runbook: z.string(), status: z.string() }),
            step: z.string(),
            approver: z.string(),
            expires_at: z.string(),
          }),
        },
        ...REFUSALS,
      ],
      handler: async ({ query, request, reply }) =>
        answerLink(request.headers.accept, reply, async () => {
          const v = await links.show(query.token);
          const params = Object.entries(v.run.params)
            .map(([k, val]) => `${escapeHtml(k)}=${escapeHtml(String(val))}`)
            .join(', ');
          return {
            json: {
              action: 'approve' as const,
              run: { id: v.run.id, runbook: v.run.runbook, status: v.run.state.status },
              step: v.step.name,
              approver: v.approver.email,
              expires_at: iso(v.expiresAt),
            },
            title: `Approve step ${v.step.name}?`,
            body: () => `<p>Runbook <b>${escapeHtml(v.run.runbook)}</b>, run <code>${escapeHtml(v.run.id)}</code>, waits for your approval of step <b>${escapeHtml(v.step.name)}</b>.</p>
${v.step.message ? `<blockquote>${escapeHtml(v.step.message)}</blockquote>` : ''}
<p>${params ? `Parameters: ${params}<br>` : ''}${v.run.context.incident ? `Incident #${v.run.context.incident.number}: ${escapeHtml(v.run.context.incident.title)}<br>` : ''}Started by ${escapeHtml(v.run.actor)} · this link works once, until ${escapeHtml(iso(v.expiresAt))}</p>
<p>Deciding as ${escapeHtml(v.approver.name)} (${escapeHtml(v.approver.email)}).</p>
<form method="post"><button type="submit" name="decision" value="approve">Approve</button><button type="submit" name="decision" value="reject">Reject</button></form>`,
          };
        }),
    }),
    defineRoute({
      method: 'POST',
      url: APPROVAL_LINK_PATH,
      summary: 'One-click approval link: approve or reject the step (once)',
      description: 'Public; authenticated by the token’s signature. The approver in the journal and the audit chain is the person the link was sent to.',
      tags: ['runbooks'],
      permission: 'public',
      authenticatesItself: 'a signed, expiring, single-use link token (?token=)',
      audit: 'runbooks.approval.link',
      query: tokenQuery,
      rawBody: { contentTypes: ['application/x-www-form-urlencoded', 'application/json'], bodyLimit: 4096 },
      responses: [
        {
          status: 200,
          description: 'Decided',
          schema: z.object({ run: z.object({ id: z.string(), status: z.string(), current_step: z.string().nullable() }), decision: z.enum(['approve', 'reject']), by: z.string() }),
        },
        { status: 400, description: 'No decision (decision: approve or reject)' },
        ...REFUSALS,
      ],
      handler: async ({ query, request, reply, audit }) =>
        answerLink(request.headers.accept, reply, async () => {
          const approve = decisionOf(request.headers['content-type'], request.body);
          const { run, actor, tenant } = await links.decide(query.token, approve);
          const decision = approve ? ('approve' as const) : ('reject' as const);
          audit({ target: `runbook-run/${run.id}`, tenant, after: { decision, by: actor, via: 'notification link' } });
          return {
            json: { run: { id: run.id, status: run.state.status, current_step: run.state.steps[run.state.step]?.name ?? null }, decision, by: actor },
            title: approve ? 'Approved' : 'Rejected',
            body: () =>
              `<p>Runbook <b>${escapeHtml(run.runbook)}</b>, run <code>${escapeHtml(run.id)}</code>: ${approve ? 'approved' : 'rejected'} by ${escapeHtml(actor.replace(/^user:/, ''))}. The run is now ${escapeHtml(run.state.status)}.</p>`,
          };
        }),
    }),
  ];
}

/**
 * What an approval request says (a runbook run waits for a person's approval of one step), for
 * each channel: the webhook's JSON body is the message itself; Slack and email get the run, the
 * step, its message, until when, and the signed one-click link to the confirmation page.
 * Pure: built when the job is created and stored with it.
 */
import { escapeHtml } from './link-gate.js';
import { slackEscape, slackSections, type PageMessage } from './message.js';

export interface ApprovalMessage {
  event: 'runbook.approval_requested';
  tenant: string;
  run: { id: string; runbook: string; url: string; incident: { id: string; number: number } | null };
  step: { name: string; message: string | null };
  /** When the step times out: the link stops working then too. */
  expires_at: string;
  /** The signed, single-use link to the confirmation page (GET shows it, its buttons POST). */
  approve_url: string;
  recipient: { user_id: string; name: string; email: string } | null;
}

export type NotificationMessage = PageMessage | ApprovalMessage;

export function isApproval(m: NotificationMessage): m is ApprovalMessage {
  return m.event === 'runbook.approval_requested';
}

function headline(m: ApprovalMessage): string {
  return `Approval needed: runbook ${m.run.runbook}, step ${m.step.name}`;
}

function facts(m: ApprovalMessage): string[] {
  return [
    `Run:     ${m.run.id}${m.run.incident ? ` (incident #${m.run.incident.number})` : ''}`,
    `Step:    ${m.step.name}`,
    `Expires: ${m.expires_at}`,
    ...(m.step.message ? ['', m.step.message] : []),
  ];
}

export function approvalSlackBody(m: ApprovalMessage): { text: string; blocks: unknown[] } {
  const lines = [`:raised_hand: *${slackEscape(headline(m))}*`, ...facts(m).map(slackEscape)];
  return slackSections(lines, `<${m.approve_url}|Approve or reject> · <${m.run.url}|Open the run>`);
}

export function approvalEmail(m: ApprovalMessage): { subject: string; text: string; html: string } {
  const subject = headline(m);
  const text = [subject, '', ...facts(m), '', `Approve or reject: ${m.approve_url}`, `Run:               ${m.run.url}`, ''].join('\n');
  const html = `<h2>${escapeHtml(subject)}</h2>
<pre>${escapeHtml(facts(m).join('\n'))}</pre>
<p><a href="${escapeHtml(m.approve_url)}">Approve or reject</a> · <a href="${escapeHtml(m.run.url)}">Open the run</a></p>`;
  return { subject, text, html };
}

/**
 * What a notification says, rendered for each channel: the generic webhook's JSON body, a Slack
 * message (severity, summary, links, acknowledge link) and an email (subject, text, HTML).
 * Pure: the message is built when the job is created and stored with it.
 */
/** What an SLO alert's page says about the burn (from the evaluator's alert details). */
export interface SloPageDetails {
  slo: string;
  burn_rates: { window: string; burn_rate: number }[];
  budget_remaining: number | null;
  runbook_url?: string;
  /** The breakdown values with the most bad events in the alert's window. */
  top_breakdown?: { values: Record<string, string>; bad_events: number; total_events: number }[];
}

export interface PageMessage {
  /**
   * `incident.triggered` for the first page, `incident.escalated` for later steps and passes;
   * `incident.acknowledged` and `incident.resolved` tell webhooks that were paged who did it.
   */
  event: 'incident.triggered' | 'incident.escalated' | 'incident.acknowledged' | 'incident.resolved';
  tenant: string;
  incident: {
    id: string;
    number: number;
    title: string;
    summary: string;
    severity: string;
    state: string;
    service: string | null;
    opened_at: string;
    url: string;
  };
  /** The alerts that opened or joined the incident (latest first, a few), with their labels. */
  alerts: { summary: string; severity: string; source: string; labels?: Record<string, string>; slo?: SloPageDetails }[];
  links: { href: string; text?: string }[];
  ack_url: string;
  resolve_url: string;
  recipient: { user_id: string; name: string; email: string } | null;
  escalation: { policy: string; pass: number; step: number } | null;
  /** For `incident.acknowledged` and `incident.resolved`: who did it. */
  by?: { actor: string; user_id?: string; name?: string; email?: string };
}

/** Pages wake people; the other events only inform, and go out whatever the incident's state. */
export function isPage(m: { event: string }): boolean {
  return m.event === 'incident.triggered' || m.event === 'incident.escalated';
}

/** One line on an SLO alert's burn: the rates per window, the budget left, the runbook. */
export function sloLine(d: SloPageDetails): string {
  const rates = d.burn_rates.map((b) => `${b.window} ${round(b.burn_rate)}×`).join(', ');
  const budget = d.budget_remaining === null ? '' : `; budget remaining ${round(d.budget_remaining * 100)}%`;
  const top = (d.top_breakdown ?? []).map(
    (t) =>
      `${Object.entries(t.values)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')} (${t.bad_events} bad of ${t.total_events})`,
  );
  return `SLO ${d.slo}: burn rate ${rates}${budget}${top.length ? `; most bad: ${top.join(', ')}` : ''}${d.runbook_url ? `; runbook ${d.runbook_url}` : ''}`;
}

function round(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 100) / 100) : String(v);
}

export type WebhookBody<M extends { event: string } = PageMessage> = M & {
  delivery_id: string;
  sent_at: string;
};

export function webhookBody<M extends { event: string }>(m: M, deliveryId: string, now: number): WebhookBody<M> {
  return { delivery_id: deliveryId, sent_at: new Date(now).toISOString(), ...m };
}

const SEVERITY_EMOJI: Record<string, string> = { SEV1: ':red_circle:', SEV2: ':large_orange_circle:', SEV3: ':large_yellow_circle:', SEV4: ':white_circle:' };

export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function headline(m: PageMessage): string {
  return `[${m.incident.severity}] Incident #${m.incident.number}: ${m.incident.title}`;
}

/** Slack incoming-webhook body: a readable `text` (also the notification preview) and blocks. */
export function slackBody(m: PageMessage): { text: string; blocks: unknown[] } {
  const emoji = SEVERITY_EMOJI[m.incident.severity] ?? ':rotating_light:';
  const lines = [`${emoji} *${slackEscape(headline(m))}*`, `*Severity:* ${m.incident.severity}   *Service:* ${slackEscape(m.incident.service ?? '-')}   *State:* ${m.incident.state}`];
  if (m.incident.summary) lines.push(`*Summary:* ${slackEscape(m.incident.summary)}`);
  if (m.by) lines.push(`*${m.event === 'incident.resolved' ? 'Resolved' : 'Acknowledged'} by:* ${slackEscape(m.by.name ?? m.by.actor)}`);
  for (const a of m.alerts.slice(0, 3)) {
    lines.push(`• [${slackEscape(a.severity)}] ${slackEscape(a.summary)} _(${slackEscape(a.source)})_`);
    if (a.slo) lines.push(`   ${slackEscape(sloLine(a.slo))}`);
  }
  if (m.links.length) lines.push(`*Links:* ${m.links.map((l) => `<${l.href}|${slackEscape(l.text ?? l.href)}>`).join(' · ')}`);
  if (m.escalation && m.event === 'incident.escalated') lines.push(`_Escalated: step ${m.escalation.step + 1}, pass ${m.escalation.pass + 1} of ${slackEscape(m.escalation.policy)}_`);
  const actions = `<${m.ack_url}|Acknowledge> · <${m.resolve_url}|Resolve> · <${m.incident.url}|Open incident>`;
  return slackSections(lines, actions);
}

/** A Slack message of two sections, what happened and what to do; `text` is the preview. */
export function slackSections(lines: string[], actions: string): { text: string; blocks: unknown[] } {
  return {
    text: `${lines.join('\n')}\n${actions}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } },
      { type: 'section', text: { type: 'mrkdwn', text: actions } },
    ],
  };
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function emailContent(m: PageMessage): { subject: string; text: string; html: string } {
  const subject = headline(m);
  const text = [
    subject,
    '',
    `Severity: ${m.incident.severity}`,
    `Service:  ${m.incident.service ?? '-'}`,
    `State:    ${m.incident.state}`,
    `Opened:   ${m.incident.opened_at}`,
    ...(m.incident.summary ? ['', m.incident.summary] : []),
    ...(m.by ? [`${m.event === 'incident.resolved' ? 'Resolved' : 'Acknowledged'} by: ${m.by.name ?? m.by.actor}`] : []),
    ...(m.alerts.length ? ['', 'Alerts:', ...m.alerts.flatMap((a) => [`  - [${a.severity}] ${a.summary} (${a.source})`, ...(a.slo ? [`    ${sloLine(a.slo)}`] : [])])] : []),
    ...(m.links.length ? ['', 'Links:', ...m.links.map((l) => `  - ${l.text ? `${l.text}: ` : ''}${l.href}`)] : []),
    '',
    `Acknowledge: ${m.ack_url}`,
    `Resolve:     ${m.resolve_url}`,
    `Incident:    ${m.incident.url}`,
    '',
  ].join('\n');
  const html = `<h2>${escapeHtml(subject)}</h2>
<p><b>Severity:</b> ${escapeHtml(m.incident.severity)} &nbsp; <b>Service:</b> ${escapeHtml(m.incident.service ?? '-')} &nbsp; <b>State:</b> ${escapeHtml(m.incident.state)}</p>
${m.incident.summary ? `<p>${escapeHtml(m.incident.summary)}</p>` : ''}
${m.alerts.length ? `<ul>${m.alerts.map((a) => `<li>[${escapeHtml(a.severity)}] ${escapeHtml(a.summary)} (${escapeHtml(a.source)})${a.slo ? `<br>${escapeHtml(sloLine(a.slo))}` : ''}</li>`).join('')}</ul>` : ''}
${m.links.length ? `<p>${m.links.map((l) => `<a href="${escapeHtml(l.href)}">${escapeHtml(l.text ?? l.href)}</a>`).join(' · ')}</p>` : ''}
<p><a href="${escapeHtml(m.ack_url)}">Acknowledge</a> · <a href="${escapeHtml(m.resolve_url)}">Resolve</a> · <a href="${escapeHtml(m.incident.url)}">Open incident</a></p>`;
  return { subject, text, html };
}

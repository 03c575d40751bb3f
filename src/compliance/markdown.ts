/** The compliance report as Markdown, for attaching to an audit request as it is. */
import type { ComplianceReport } from './report.js';
import type { EvidenceSection } from './evidence.js';

function cell(v: unknown): string {
  if (v === null || v === undefined || v === '') return '–';
  const s = Array.isArray(v) ? v.join(', ') : String(v);
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function table(headers: string[], rows: unknown[][]): string {
  if (rows.length === 0) return '_none_\n';
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n') + '\n';
}

function section(s: EvidenceSection): string {
  const headers = s.rows[0] ? Object.keys(s.rows[0]) : [];
  return `${s.summary}.\n\n${
    s.rows.length
      ? table(
          headers,
          s.rows.map((r) => headers.map((h) => r[h])),
        )
      : ''
  }${s.note ? `\n_${s.note}._\n` : ''}`;
}

export function reportMarkdown(r: ComplianceReport): string {
  const a = r.access_review;
  const chain = r.audit.chain;
  const e = r.encryption;
  const out: string[] = [];
  out.push(`# Keel compliance report\n`);
  out.push(`Generated ${r.generated_at} for ${r.scope}, period ${r.period.from} to ${r.period.to}.\n`);

  out.push(`## Access review\n`);
  const s = a.summary;
  out.push(
    `${s.users} user(s), ${s.admins} with an admin role, ${s.disabled} disabled, ${s.never_signed_in} never signed in. ${s.api_keys} active API key(s), ${s.api_keys_flagged} older than ${a.max_key_age_days} days; ${a.keys_revoked_in_period} revoked in the period.\n`,
  );
  out.push(`### People\n`);
  out.push(
    table(
      ['email', 'name', 'teams and roles', 'sign-in', 'last sign-in', 'disabled', 'flags'],
      a.users.map((u) => [
        u.email,
        u.name,
        u.teams.map((t) => `${t.team}: ${t.role}`),
        [...(u.has_password ? ['password'] : []), ...u.sso.map((p) => `sso:${p}`)],
        u.last_sign_in_at ? `${u.last_sign_in_at} (${u.last_sign_in_method})` : null,
        u.disabled ? 'yes' : 'no',
        u.flags,
      ]),
    ),
  );
  out.push(`### API keys\n`);
  out.push(
    table(
      ['prefix', 'tenant', 'name', 'scopes', 'created', 'age (days)', 'last used', 'flags'],
      a.api_keys.map((k) => [`${k.prefix}…`, k.tenant, k.name, k.scopes, `${k.created_at} by ${k.created_by}`, k.age_days, k.last_used_at, k.flags]),
    ),
  );

  out.push(`## Audit log\n`);
  out.push(
    chain.ok
      ? `Hash chain **intact**: ${chain.checked} entries checked${chain.head ? `; head entry ${chain.head.seq} has hash \`${chain.head.hash}\` (keep it: \`keel audit verify --anchor ${chain.head.seq}:${chain.head.hash}\` later proves nothing was removed from the end)` : ''}.\n`
      : `Hash chain **BROKEN** at entry ${chain.problem!.seq}: ${chain.problem!.reason}.\n`,
  );
  out.push(`${r.audit.entries_in_period} entries in the period; ${r.audit.refused_in_period} refused actions, of which ${r.audit.failed_sign_ins_in_period} failed sign-ins.\n`);
  out.push(
    table(
      ['action', 'entries'],
      Object.entries(r.audit.by_action)
        .sort((x, y) => y[1] - x[1])
        .map(([k, v]) => [k, v]),
    ),
  );

  out.push(`## Encryption\n`);
  out.push(
    `Stored secrets: ${e.algorithm}, key from ${e.key_source === 'env' ? 'the environment (KEEL_SECRET_KEY)' : `the key file ${e.key_location}`}; current key \`${e.current_key_id}\`, ${e.key_ids.length} key(s) configured. ${e.total_values} sealed value(s), ${e.under_older_keys} under older keys, ${e.unreadable} unreadable, ${e.not_sealed} not sealed.\n`,
  );
  out.push(
    table(
      ['table.column', 'what', 'values', 'by key'],
      e.columns.map((c) => [`${c.table}.${c.column}`, c.description, c.values, Object.entries(c.by_key).map(([k, n]) => `${k}: ${n}`)]),
    ),
  );
  out.push(`API keys and session tokens are stored as SHA-256 hashes; passwords as scrypt hashes with a per-user salt.\n`);
  out.push(
    `Transport: TLS ${e.transport.tls ? 'on' : '**off** (terminate TLS in front of Keel)'}; session cookie ${e.transport.session_cookie}; CORS ${e.transport.cors_origins.length ? e.transport.cors_origins.join(', ') : 'off'}.\n`,
  );

  out.push(`## Backups\n`);
  const b = r.backups;
  out.push(
    b.status === 'not applicable'
      ? 'Not applicable: the distributed mode is backed up with PostgreSQL and JetStream tools.\n'
      : b.status === 'none'
        ? '**No backup has been taken.**\n'
        : `Last backup ${b.last_backup_at}, ${b.age_hours} hours ago (${b.status === 'ok' ? 'within' : '**older than**'} the ${b.max_age_hours} hour limit); ${b.in_period} in the period.\n`,
  );

  out.push(`## SLOs\n`);
  out.push(section(r.slos));
  out.push(`## Incidents\n`);
  out.push(section(r.incidents));
  if (r.automated_changes) {
    out.push(`## Automated changes and approvals (runbooks)\n`);
    out.push(section(r.automated_changes));
  }
  return out.join('\n');
}

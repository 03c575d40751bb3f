/**
 * The evidence a SOC 2 auditor asks for, generated: access review (people, roles, last sign-in,
 * API keys with age, scopes and last use, old keys flagged), the audit chain's status and what it
 * recorded in the period, encryption of stored secrets, backup age, and SLO and incident
 * summaries from the domains that own them.
 */
import type { ApiKeyService } from '../auth/api-keys.js';
import type { Accounts } from '../auth/accounts.js';
import type { Principal } from '../auth/principal.js';
import type { EncryptionStatus, SecretRotation } from '../auth/secret-rotation.js';
import type { AuditQuery } from '../audit/audit-query.js';
import type { ChainResult } from '../audit/verify-chain.js';
import type { BackupService } from '../backup/backup-service.js';
import type { Clock } from '../core/clock.js';
import type { KeelConfig } from '../core/config.js';
import type { PeopleService, Role } from '../people/people-service.js';
import type { Store } from '../store/store.js';
import type { EvidenceScope, EvidenceSection, EvidenceSource } from './evidence.js';

const DAY = 86_400_000;
const iso = (t: number | null | undefined) => (t === null || t === undefined ? null : new Date(t).toISOString());

export interface ComplianceDeps {
  store: Store;
  people: PeopleService;
  keys: ApiKeyService;
  accounts: Accounts;
  audit: AuditQuery;
  rotation: SecretRotation;
  backups: BackupService;
  config: KeelConfig;
  clock: Clock;
  /** `automation`: automated changes and their approvals (the runbooks domain), when installed. */
  sources: { slos: EvidenceSource; incidents: EvidenceSource; automation?: EvidenceSource };
}

export interface ReportUser {
  email: string;
  name: string;
  disabled: boolean;
  teams: { team: string; role: Role }[];
  /** null (and `sso` empty, sign-ins null): the person is in other teams too and the reader is one team's admin. */
  has_password: boolean | null;
  sso: string[];
  last_sign_in_at: string | null;
  last_sign_in_method: string | null;
  flags: string[];
}

export interface ReportKey {
  id: string;
  tenant: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  created_by: string;
  age_days: number;
  last_used_at: string | null;
  flags: string[];
}

export interface ComplianceReport {
  generated_at: string;
  period: { from: string; to: string };
  scope: string;
  access_review: {
    users: ReportUser[];
    api_keys: ReportKey[];
    keys_revoked_in_period: number;
    max_key_age_days: number;
    summary: { users: number; admins: number; disabled: number; never_signed_in: number; api_keys: number; api_keys_flagged: number };
  };
  audit: {
    chain: ChainResult;
    entries_in_period: number;
    by_action: Record<string, number>;
    refused_in_period: number;
    failed_sign_ins_in_period: number;
  };
  encryption: EncryptionStatus & { transport: { tls: boolean; session_cookie: string; cors_origins: string[] } };
  backups: { status: 'ok' | 'stale' | 'none' | 'not applicable'; last_backup_at: string | null; age_hours: number | null; max_age_hours: number; in_period: number };
  slos: EvidenceSection;
  incidents: EvidenceSection;
  /** SOC 2 change evidence: runbook runs (automatic and manual) and the approvals they needed. */
  automated_changes?: EvidenceSection;
}

/** `viewer`: who asks; a team admin's report keeps the sign-in record of people other teams share. */
export async function buildReport(deps: ComplianceDeps, scope: EvidenceScope, viewer?: Principal): Promise<ComplianceReport> {
  const now = deps.clock.now();
  const maxKeyAge = deps.config.security.apiKeys.maxAge;
  const access = await accessReview(deps, scope, now, maxKeyAge, viewer);

  let entries = 0;
  let refused = 0;
  let failedSignIns = 0;
  const byAction: Record<string, number> = {};
  for (let after = 0; ;) {
    const page = await deps.audit.page({ limit: 1000, after, since: scope.from, until: scope.to, ...(scope.tenant !== undefined ? { tenant: scope.tenant } : {}) });
    for (const e of page) {
      entries++;
      byAction[e.action] = (byAction[e.action] ?? 0) + 1;
      if (Number(e.ok) === 0) {
        refused++;
        if (e.action === 'auth.sign_in') failedSignIns++;
      }
    }
    if (page.length < 1000) break;
    after = Number(page[page.length - 1]!.seq);
  }

  const embedded = deps.store.engine === 'sqlite';
  const backups = embedded ? await deps.backups.list(1000) : [];
  const last = backups[0];
  const maxBackupAge = deps.config.security.backups.maxAge;
  const status = await deps.rotation.status();

  return {
    generated_at: iso(now)!,
    period: { from: iso(scope.from)!, to: iso(scope.to)! },
    scope: scope.tenant ? `tenant ${scope.tenant}` : 'all tenants',
    access_review: access,
    audit: { chain: await deps.audit.verify(), entries_in_period: entries, by_action: byAction, refused_in_period: refused, failed_sign_ins_in_period: failedSignIns },
    encryption: {
      ...status,
      transport: {
        tls: Boolean(deps.config.server.tls),
        session_cookie: `HttpOnly; SameSite=Lax${deps.config.server.tls || deps.config.security.publicUrl?.startsWith('https:') ? '; Secure' : ''}`,
        cors_origins: deps.config.security.cors.origins,
      },
    },
    backups: {
      status: !embedded ? 'not applicable' : !last ? 'none' : now - last.at > maxBackupAge ? 'stale' : 'ok',
      last_backup_at: iso(last?.at),
      age_hours: last ? Math.round(((now - last.at) / 3_600_000) * 10) / 10 : null,
      max_age_hours: maxBackupAge / 3_600_000,
      in_period: backups.filter((b) => b.at >= scope.from && b.at < scope.to).length,
    },
    slos: await deps.sources.slos.collect(scope),
    incidents: await deps.sources.incidents.collect(scope),
    ...(deps.sources.automation ? { automated_changes: await deps.sources.automation.collect(scope) } : {}),
  };
}

async function accessReview(deps: ComplianceDeps, scope: EvidenceScope, now: number, maxKeyAge: number, viewer?: Principal): Promise<ComplianceReport['access_review']> {
  const { store, people, keys, accounts } = deps;
  const userRows = scope.tenant
    ? await people.members(scope.tenant)
    : await Promise.all((await store.db.selectFrom('users').select('id').orderBy('email').execute()).map(async (u) => (await people.byId(u.id))!));
  const users: ReportUser[] = [];
  for (const u of userRows) {
    const memberships = (await people.memberships(u.id)).filter((m) => !scope.tenant || m.tenant === scope.tenant);
    // How a person shared with other teams signs in is not one team's to learn (docs/security.md).
    const record = viewer ? await accounts.recordFor(viewer, u.id) : await accounts.record(u.id);
    const sso = (await store.db.selectFrom('user_identities').select('provider').where('user_id', '=', u.id).execute()).map((r) => r.provider);
    const flags: string[] = [];
    if (!record) flags.push('also in other teams: sign-in record not shown to a team');
    else if (record.lastSignInAt === null && !u.disabled) flags.push('never signed in');
    else if (record.lastSignInAt !== null && now - record.lastSignInAt > maxKeyAge && !u.disabled) flags.push(`no sign-in for over ${Math.round(maxKeyAge / DAY)} days`);
    if (memberships.length === 0) flags.push('member of no team');
    users.push({
      email: u.email,
      name: u.name,
      disabled: u.disabled,
      teams: memberships.map((m) => ({ team: m.tenant, role: m.role })),
      has_password: record ? record.hasPassword : null,
      sso: record ? sso : [],
      last_sign_in_at: iso(record?.lastSignInAt),
      last_sign_in_method: record ? record.lastSignInMethod : null,
      flags,
    });
  }
  const all = await keys.list({ ...(scope.tenant ? { tenant: scope.tenant } : {}), includeRevoked: true });
  const active = all.filter((k) => k.revokedAt === null);
  const apiKeys: ReportKey[] = active.map((k) => {
    const flags: string[] = [];
    if (now - k.createdAt > maxKeyAge) flags.push(`older than ${Math.round(maxKeyAge / DAY)} days`);
    if (k.lastUsedAt === null) flags.push('never used');
    if (k.scopes.includes('admin')) flags.push('admin scope');
    return {
      id: k.id,
      tenant: k.tenant,
      name: k.name,
      prefix: k.prefix,
      scopes: k.scopes,
      created_at: iso(k.createdAt)!,
      created_by: k.createdBy,
      age_days: Math.floor((now - k.createdAt) / DAY),
      last_used_at: iso(k.lastUsedAt),
      flags,
    };
  });
  return {
    users,
    api_keys: apiKeys,
    keys_revoked_in_period: all.filter((k) => k.revokedAt !== null && k.revokedAt >= scope.from && k.revokedAt < scope.to).length,
    max_key_age_days: Math.round(maxKeyAge / DAY),
    summary: {
      users: users.length,
      admins: users.filter((u) => u.teams.some((t) => t.role === 'admin')).length,
      disabled: users.filter((u) => u.disabled).length,
      never_signed_in: users.filter((u) => u.last_sign_in_at === null && u.has_password !== null).length,
      api_keys: apiKeys.length,
      // Only age makes a key "flagged": never-used and admin are facts for the reviewer, not findings.
      api_keys_flagged: apiKeys.filter((k) => k.flags.some((f) => f.startsWith('older than'))).length,
    },
  };
}

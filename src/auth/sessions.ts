/**
 * Browser sessions. The token (256 random bits) lives only in the client's HTTP-only cookie; the
 * store keeps its sha256, so a copy of the database opens no session. Each session has an absolute
 * expiry and an idle timeout. The CSRF token is derived from the session token (HMAC), so it needs
 * no storage and cannot be guessed without the cookie.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';
import type { Membership, PeopleService, User } from '../people/people-service.js';
import type { SessionsTable } from './tables.js';

export const SESSION_COOKIE = 'keel_session';
export const CSRF_COOKIE = 'keel_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export interface Session {
  id: string;
  userId: string;
  tenant: string;
  method: string;
  createdAt: number;
  expiresAt: number;
  lastSeenAt: number;
  ip: string;
  /** Signed in with a password bound to this team: the session acts on it alone. */
  boundTeam: string | null;
}

export interface ResolvedSession {
  session: Session;
  user: User;
  /** The memberships this session may act on: all of the user's, or the bound team's only. */
  memberships: Membership[];
}

/** The memberships a credential bound to `boundTeam` (null: not bound) opens. */
export function openedBy(memberships: Membership[], boundTeam: string | null): Membership[] {
  return boundTeam === null ? memberships : memberships.filter((m) => m.tenant === boundTeam);
}

interface Cached {
  value: ResolvedSession | undefined;
  until: number;
}

/** Resolved sessions are reused for a few seconds; every revocation on this instance clears them at once. */
const CACHE_MS = 5_000;
const TOUCH_RESOLUTION_MS = 60_000;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('keel-csrf-v1').digest('base64url');
}

export function csrfMatches(sessionToken: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const got = Buffer.from(presented);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export class SessionService {
  private readonly cache = new Map<string, Cached>();
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly people: PeopleService,
    private readonly clock: Clock,
    private readonly limits: { ttlMs: number; idleMs: number },
  ) {}

  async create(input: { userId: string; tenant: string; method: string; ip: string; userAgent: string; boundTeam?: string | null }): Promise<{ token: string; session: Session }> {
    const token = `ks_${randomBytes(32).toString('base64url')}`;
    const now = this.clock.now();
    const row = {
      id: hashToken(token),
      user_id: input.userId,
      tenant_id: input.tenant,
      method: input.method,
      created_at: now,
      expires_at: now + this.limits.ttlMs,
      last_seen_at: now,
      ip: input.ip,
      user_agent: input.userAgent.slice(0, 300),
      revoked_at: null,
      bound_team: input.boundTeam ?? null,
    };
    await this.store.db.insertInto('sessions').values(row).execute();
    return { token, session: toSession(row) };
  }

  /** The live session of a token with its user and memberships, or undefined (unknown, expired, idle, revoked, user disabled). */
  async resolve(token: string): Promise<ResolvedSession | undefined> {
    const id = hashToken(token);
    const now = this.clock.now();
    const hit = this.cache.get(id);
    let value: ResolvedSession | undefined;
    if (hit && hit.until > now) value = hit.value;
    else {
      value = await this.load(id);
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(id, { value, until: now + CACHE_MS });
    }
    if (!value) return undefined;
    const s = value.session;
    if (s.expiresAt <= now || now - s.lastSeenAt > this.limits.idleMs) return undefined;
    this.touch(value, now);
    return value;
  }

  private async load(id: string): Promise<ResolvedSession | undefined> {
    const row = await this.store.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.revoked_at !== null) return undefined;
    const user = await this.people.byId(row.user_id);
    if (!user || user.disabled) return undefined;
    return { session: toSession(row), user, memberships: openedBy(await this.people.memberships(user.id), row.bound_team) };
  }

  /** Records activity at most once a minute per session (the idle timeout's clock). */
  private touch(r: ResolvedSession, now: number): void {
    const last = this.touched.get(r.session.id) ?? r.session.lastSeenAt;
    if (now - last < TOUCH_RESOLUTION_MS) return;
    this.touched.set(r.session.id, now);
    r.session.lastSeenAt = now;
    this.store.db
      .updateTable('sessions')
      .set({ last_seen_at: now })
      .where('id', '=', r.session.id)
      .execute()
      .catch(() => undefined);
  }

  async revoke(id: string): Promise<void> {
    await this.store.db.updateTable('sessions').set({ revoked_at: this.clock.now() }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    this.forget();
  }

  /** Signs a user out everywhere (password changed, disabled, removed), optionally keeping one session. */
  async revokeUser(userId: string, exceptId?: string): Promise<number> {
    let q = this.store.db.updateTable('sessions').set({ revoked_at: this.clock.now() }).where('user_id', '=', userId).where('revoked_at', 'is', null);
    if (exceptId) q = q.where('id', '!=', exceptId);
    const r = await q.executeTakeFirst();
    this.forget();
    return Number(r.numUpdatedRows);
  }

  async setTeam(id: string, tenant: string): Promise<void> {
    await this.store.db.updateTable('sessions').set({ tenant_id: tenant }).where('id', '=', id).execute();
    this.forget();
  }

  /** Drops cached sessions, so role and membership changes apply to the next request. */
  forget(): void {
    this.cache.clear();
  }

  /** Deletes sessions that ended more than a day ago. */
  async sweep(): Promise<void> {
    const cutoff = this.clock.now() - 86_400_000;
    await this.store.db.deleteFrom('sessions').where('expires_at', '<', cutoff).execute();
  }
}

function toSession(r: Omit<SessionsTable, 'user_agent' | 'revoked_at'>): Session {
  return {
    id: r.id,
    userId: r.user_id,
    tenant: r.tenant_id,
    method: r.method,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    lastSeenAt: Number(r.last_seen_at),
    ip: r.ip,
    boundTeam: r.bound_team,
  };
}

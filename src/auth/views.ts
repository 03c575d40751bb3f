/** How users and sessions are shown over the API (never a hash, a token or a secret). */
import type { Membership, Role, User } from '../people/people-service.js';
import type { SignInRecord } from './accounts.js';

const iso = (t: number | null | undefined) => (t === null || t === undefined ? null : new Date(t).toISOString());

/** `record` null: the person is in other teams too, so their sign-in record is not the caller's to see. */
export function userView(user: User, record: SignInRecord | null, options: { role?: Role; teams?: Membership[] } = {}) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    time_zone: user.timeZone,
    disabled: user.disabled,
    created_at: iso(user.createdAt),
    ...(options.role ? { role: options.role } : {}),
    ...(options.teams ? { teams: options.teams.map((m) => ({ team: m.tenant, role: m.role })) } : {}),
    has_password: record ? record.hasPassword : null,
    password_changed_at: iso(record?.passwordChangedAt),
    last_sign_in_at: iso(record?.lastSignInAt),
    last_sign_in_method: record ? record.lastSignInMethod : null,
  };
}

export { iso };

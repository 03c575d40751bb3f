/**
 * People: users (identity and how to show them) and their membership of teams. A team is a
 * tenant. Security adds credentials and sessions on top; paging adds contact methods and
 * notification rules; both key on `users.id`.
 */
export interface UsersTable {
  id: string;
  /** Unique, lowercase. */
  email: string;
  name: string;
  /** IANA time zone, e.g. Europe/Berlin. */
  time_zone: string;
  created_at: number;
  /** 1 when the user may no longer sign in or be paged. */
  disabled: number;
}

export interface TeamMembersTable {
  tenant_id: string;
  user_id: string;
  /** viewer, responder, editor or admin. */
  role: string;
  created_at: number;
}

export interface PeopleTables {
  users: UsersTable;
  team_members: TeamMembersTable;
}

import { sql, type Kysely } from 'kysely';

/**
 * Passwords bound to a team: a password set by a team admin opens only that team (the team's
 * admins may know it), and a session signed in with it acts only there. Null: every team of the
 * person (set by a system admin). Passwords set before this migration are bound to the person's
 * one team when they have exactly one, the conservative reading of who could have set them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('user_auth').addColumn('password_team', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('bound_team', 'text').execute();
  await bindExistingPasswords(db);
}

/** Binds each password of a person in exactly one team to that team, and the sessions it opened. */
export async function bindExistingPasswords(db: Kysely<unknown>): Promise<void> {
  await sql`
    UPDATE user_auth SET password_team = (SELECT MIN(tenant_id) FROM team_members WHERE team_members.user_id = user_auth.user_id)
    WHERE password_hash IS NOT NULL
      AND (SELECT COUNT(*) FROM team_members WHERE team_members.user_id = user_auth.user_id) = 1
  `.execute(db);
  // Sessions already signed in with a password now bound are bound the same way.
  await sql`
    UPDATE sessions SET bound_team = (SELECT password_team FROM user_auth WHERE user_auth.user_id = sessions.user_id)
    WHERE method = 'password'
  `.execute(db);
}

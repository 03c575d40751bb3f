/** Migration 0500 binds passwords set before team-bound passwords existed, on both engines. */
import { describe, expect, it } from 'vitest';
import { bindExistingPasswords } from '../../src/store/migrations/0500_password_team.js';
import type { StoreEngine } from '../../src/store/store.js';
import { openTestStore } from '../helpers/stores.js';

describe.each<StoreEngine>(['sqlite', 'postgres'])('migration 0500 on %s', (engine) => {
  it('binds the password of a person in one team to it and the sessions it opened, and leaves people in several teams or none unbound', async () => {
    const { store, close } = await openTestStore(engine);
    try {
      const db = store.db;
      const people = [
        { id: 'usr_one', teams: ['acme'], hash: 'scrypt$x' },
        { id: 'usr_two', teams: ['acme', 'beta'], hash: 'scrypt$y' },
        { id: 'usr_none', teams: [], hash: 'scrypt$z' },
        { id: 'usr_sso', teams: ['acme'], hash: null },
      ];
      for (const p of people) {
        await db
          .insertInto('users')
          .values({ id: p.id, email: `${p.id}@x.test`, name: p.id, time_zone: 'UTC', created_at: 1, disabled: 0 })
          .execute();
        for (const t of p.teams) await db.insertInto('team_members').values({ tenant_id: t, user_id: p.id, role: 'viewer', created_at: 1 }).execute();
        await db
          .insertInto('user_auth')
          .values({ user_id: p.id, password_hash: p.hash, password_changed_at: 1, password_team: null, last_sign_in_at: null, last_sign_in_method: null, last_sign_in_ip: null })
          .execute();
      }
      const session = (id: string, user: string, method: string) => ({
        id,
        user_id: user,
        tenant_id: 'acme',
        method,
        created_at: 1,
        expires_at: 2,
        last_seen_at: 1,
        ip: '',
        user_agent: '',
        revoked_at: null,
        bound_team: null,
      });
      await db
        .insertInto('sessions')
        .values([session('s1', 'usr_one', 'password'), session('s2', 'usr_one', 'oidc:corp'), session('s3', 'usr_two', 'password')])
        .execute();
      await bindExistingPasswords(db as never);
      const sessions = await db.selectFrom('sessions').select(['id', 'bound_team']).orderBy('id').execute();
      expect(sessions).toEqual([
        { id: 's1', bound_team: 'acme' },
        { id: 's2', bound_team: null },
        { id: 's3', bound_team: null },
      ]);
      const rows = await db.selectFrom('user_auth').select(['user_id', 'password_team']).orderBy('user_id').execute();
      expect(rows).toEqual([
        { user_id: 'usr_none', password_team: null },
        { user_id: 'usr_one', password_team: 'acme' },
        { user_id: 'usr_sso', password_team: null },
        { user_id: 'usr_two', password_team: null },
      ]);
    } finally {
      await close();
    }
  });
});

/**
 * People shared between teams stay inside each team's walls (issue 10, items 1 to 4): a team
 * gains a membership, never another team's person's profile, password or sign-in record, and
 * another team's things answer exactly as things that do not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { addUser, asUser, signIn } from '../helpers/security.js';

const PW = 'correct horse battery staple';
let t: TestKeel;
const keys: Record<string, string> = {};

async function keyOf(tenant: string, scopes: string[]): Promise<string> {
  const r = await http(`${t.url}/v1/keys`, { key: t.adminKey, json: { tenant, scopes } });
  expect(r.status, r.text).toBe(201);
  return r.body.key;
}

async function auditOf(tenant: string, action: string): Promise<any[]> {
  const r = await http(`${t.url}/v1/audit?tenant=${tenant}&action=${action}&limit=1000`, { key: t.adminKey });
  expect(r.status, r.text).toBe(200);
  return r.body.entries;
}

function userDoc(name: string, email: string, profile: { name: string; tz: string; mail: string }): string {
  return `apiVersion: keel/v1
kind: User
metadata: {name: ${name}}
spec:
  email: ${email}
  name: ${profile.name}
  timeZone: ${profile.tz}
  contactMethods:
    - {name: mail, type: email, address: ${profile.mail}}
`;
}

const apply = (key: string, content: string) => http(`${t.url}/v1/definitions/apply`, { key, json: { sources: [{ file: 'people.yaml', content }] } });

beforeAll(async () => {
  t = await startTestKeel({ security: { passwords: { hashCost: 12 } } });
  for (const team of ['ta', 'tb']) {
    await http(`${t.url}/v1/tenants`, { key: t.adminKey, json: { id: team } });
    keys[`${team}-admin`] = await keyOf(team, ['admin']);
    keys[`${team}-editor`] = await keyOf(team, ['write']);
  }
});
afterAll(async () => t?.close());

describe('a person another team shares', () => {
  it('is not rewritten by a User definition of another team, and every team of theirs sees them join (item 1)', async () => {
    // Team B defines Bea: her profile and her contact methods for team B's pages.
    const b = await apply(keys['tb-editor']!, userDoc('bea', 'bea@corp.test', { name: 'Bea Real', tz: 'Europe/Berlin', mail: 'bea@corp.test' }));
    expect(b.status, b.text).toBe(200);
    const before = await t.keel.store.db.selectFrom('users').selectAll().where('email', '=', 'bea@corp.test').executeTakeFirstOrThrow();

    // Team A's editor applies a User with her email and another name, zone and address.
    const a = await apply(keys['ta-editor']!, userDoc('b', 'bea@corp.test', { name: 'Not Bea', tz: 'Pacific/Auckland', mail: 'attacker@evil.test' }));
    expect(a.status, a.text).toBe(200);

    const after = await t.keel.store.db.selectFrom('users').selectAll().where('email', '=', 'bea@corp.test').executeTakeFirstOrThrow();
    expect({ name: after.name, time_zone: after.time_zone }).toEqual({ name: 'Bea Real', time_zone: 'Europe/Berlin' });
    expect(after.id).toBe(before.id);
    // Team B's view of her, and where team B's pages reach her, are unchanged.
    const bPeople = (await http(`${t.url}/v1/paging/people`, { key: keys['tb-admin'] })).body.people;
    expect(bPeople).toEqual([
      expect.objectContaining({ handle: 'bea', name: 'Bea Real', email: 'bea@corp.test', contact_methods: [expect.objectContaining({ name: 'mail', address: 'bea@corp.test' })] }),
    ]);
    const bMember = await http(`${t.url}/v1/users/bea@corp.test`, { key: keys['tb-admin'] });
    expect(bMember.body).toMatchObject({ name: 'Bea Real', time_zone: 'Europe/Berlin', role: 'responder' });

    // She joined team A: team A's log says so with who did it, team B's log says so without naming team A.
    const aAdds = await auditOf('ta', 'users.add');
    expect(aAdds).toEqual([
      expect.objectContaining({
        tenant: 'ta',
        target: `user/${after.id}`,
        actor: expect.stringMatching(/^key:/),
        after: expect.objectContaining({ email: 'bea@corp.test', team: 'ta', role: 'responder', via: 'User b' }),
      }),
    ]);
    const bJoined = await auditOf('tb', 'users.joined_other_team');
    expect(bJoined).toEqual([expect.objectContaining({ tenant: 'tb', target: `user/${after.id}`, actor: 'system' })]);
    expect(JSON.stringify(bJoined)).not.toMatch(/"ta"|key:/);
    // The chain still verifies with entries written inside the apply transaction.
    const verify = await http(`${t.url}/v1/audit/verify`, { key: t.adminKey });
    expect(verify.body).toMatchObject({ ok: true });
  });

  it('is still set up in full by a User definition when the person is new or only this team’s', async () => {
    const first = await apply(keys['ta-editor']!, userDoc('cai', 'cai@corp.test', { name: 'Cai', tz: 'Europe/Paris', mail: 'cai@corp.test' }));
    expect(first.status, first.text).toBe(200);
    const again = await apply(keys['ta-editor']!, userDoc('cai', 'cai@corp.test', { name: 'Cai Renamed', tz: 'Asia/Tokyo', mail: 'cai@corp.test' }));
    expect(again.status, again.text).toBe(200);
    const cai = (await http(`${t.url}/v1/users/cai@corp.test`, { key: keys['ta-admin'] })).body;
    expect(cai).toMatchObject({ name: 'Cai Renamed', time_zone: 'Asia/Tokyo', role: 'responder' });
    expect(await auditOf('ta', 'users.add')).toEqual(expect.arrayContaining([expect.objectContaining({ after: expect.objectContaining({ email: 'cai@corp.test', created: true }) })]));
  });

  it('added with POST /v1/users keeps their profile, is answered with the membership only, and their teams see it (items 1 and 3)', async () => {
    await addUser(t.url, keys['tb-admin']!, { email: 'dee@corp.test', name: 'Dee Real', role: 'editor' });
    const r = await http(`${t.url}/v1/users`, { key: keys['ta-admin'], json: { email: 'dee@corp.test', name: 'Fake Name', time_zone: 'Asia/Tokyo', role: 'viewer' } });
    expect(r.status, r.text).toBe(201);
    expect(Object.keys(r.body).sort()).toEqual(['email', 'id', 'profile', 'role', 'team']);
    expect(r.body).toMatchObject({ email: 'dee@corp.test', team: 'ta', role: 'viewer' });
    expect(JSON.stringify(r.body)).not.toMatch(/Dee Real|has_password|last_sign_in/);
    const stored = await t.keel.store.db.selectFrom('users').selectAll().where('email', '=', 'dee@corp.test').executeTakeFirstOrThrow();
    expect({ name: stored.name, time_zone: stored.time_zone }).toEqual({ name: 'Dee Real', time_zone: 'UTC' });
    expect(await auditOf('tb', 'users.joined_other_team')).toEqual(expect.arrayContaining([expect.objectContaining({ target: `user/${stored.id}`, actor: 'system' })]));
    // As a member of both, team A sees her profile but not her sign-in record (team B's business).
    const seen = (await http(`${t.url}/v1/users/dee@corp.test`, { key: keys['ta-admin'] })).body;
    expect(seen).toMatchObject({ email: 'dee@corp.test', role: 'viewer', has_password: null, last_sign_in_at: null, last_sign_in_method: null });
    const listed = (await http(`${t.url}/v1/users`, { key: keys['ta-admin'] })).body.users.find((u: any) => u.email === 'dee@corp.test');
    expect(listed).toMatchObject({ has_password: null, last_sign_in_at: null });
    // A new person is answered in full, with what this request set.
    const fresh = await http(`${t.url}/v1/users`, { key: keys['ta-admin'], json: { email: 'eve@corp.test', name: 'Eve', role: 'viewer' } });
    expect(fresh.body).toMatchObject({ email: 'eve@corp.test', name: 'Eve', team: 'ta', role: 'viewer', has_password: false });
  });

  it('keeps their sign-in record out of a team admin’s compliance report, not out of a system admin’s (item 3)', async () => {
    // dee@corp.test is in ta and tb (previous test); eve@corp.test only in ta.
    const mine = await http(`${t.url}/v1/compliance/report?since=1d`, { key: keys['ta-admin'] });
    expect(mine.status, mine.text).toBe(200);
    const dee = mine.body.access_review.users.find((u: any) => u.email === 'dee@corp.test');
    expect(dee).toMatchObject({ has_password: null, sso: [], last_sign_in_at: null, last_sign_in_method: null, flags: ['also in other teams: sign-in record not shown to a team'] });
    const eve = mine.body.access_review.users.find((u: any) => u.email === 'eve@corp.test');
    expect(eve).toMatchObject({ has_password: false, flags: ['never signed in'] });
    const system = await http(`${t.url}/v1/compliance/report?since=1d&tenant=ta`, { key: t.adminKey });
    expect(system.body.access_review.users.find((u: any) => u.email === 'dee@corp.test')).toMatchObject({ has_password: false, flags: ['never signed in'] });
  });

  it('of another team is not found by id or email', async () => {
    const bOnly = await addUser(t.url, keys['tb-admin']!, { email: 'fay@corp.test', name: 'Fay', role: 'viewer' });
    for (const ref of [bOnly.id, 'fay@corp.test', 'nobody@corp.test']) {
      const r = await http(`${t.url}/v1/users/${ref}`, { key: keys['ta-admin'] });
      expect(r.status).toBe(404);
      expect(r.body.error.message).toBe(`user ${ref} not found in team "ta"`);
    }
  });
});

describe('another team’s API key', () => {
  it('answers a revocation exactly as an unknown key id does (item 4)', async () => {
    const bKey = await http(`${t.url}/v1/keys`, { key: keys['tb-admin'], json: { scopes: ['read'] } });
    expect(bKey.status, bKey.text).toBe(201);
    const id = bKey.body.id as string;
    const unknownId = `${id.slice(0, -4)}zzzz`;
    const theirs = await http(`${t.url}/v1/keys/${id}`, { method: 'DELETE', key: keys['ta-admin'] });
    const unknown = await http(`${t.url}/v1/keys/${unknownId}`, { method: 'DELETE', key: keys['ta-admin'] });
    expect(theirs.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(theirs.body.error.message).toBe(`API key ${id} not found`);
    expect(unknown.body.error.message).toBe(`API key ${unknownId} not found`);
    expect(theirs.body.error.code).toBe(unknown.body.error.code);
    // Still live: team B's key was not revoked.
    expect((await http(`${t.url}/v1/session`, { key: bKey.body.key })).status).toBe(200);
  });
});

describe('a password one team set', () => {
  it('never opens another team the person joins later: the takeover sequence fails (item 2)', async () => {
    // Team A's admin pre-creates the new hire with a password team A knows.
    await addUser(t.url, keys['ta-admin']!, { email: 'newhire@corp.test', name: 'New Hire', role: 'viewer', password: PW });
    // Team B later adds the same person as its admin, without a password (the documented way).
    const b = await http(`${t.url}/v1/users`, { key: keys['tb-admin'], json: { email: 'newhire@corp.test', name: 'New Hire', role: 'admin' } });
    expect(b.status, b.text).toBe(201);

    // Team A signs in with its password naming team B: refused exactly as for a team the person is not in.
    const named = await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'newhire@corp.test', password: PW, team: 'tb' } });
    const notMember = await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'newhire@corp.test', password: PW, team: 'nosuchteam' } });
    expect(named.status).toBe(404);
    expect(notMember.status).toBe(404);
    expect(named.body.error.message.replace('"tb"', '"X"')).toBe(notMember.body.error.message.replace('"nosuchteam"', '"X"'));
    expect(named.headers['set-cookie']).toBeUndefined();
    // Team B's log holds the refused attempt, without naming team A.
    const refused = (await auditOf('tb', 'auth.sign_in')).filter((e) => !e.ok);
    expect(refused).toEqual([expect.objectContaining({ target: 'user/newhire@corp.test', after: expect.objectContaining({ reason: expect.stringMatching(/another team/) }) })]);
    expect(JSON.stringify(refused)).not.toContain('"ta"');

    // Signed in to team A, the session reaches nothing of team B: not by header, not by switching, not B's keys.
    const s = await signIn(t.url, 'newhire@corp.test', PW);
    expect(s.body).toMatchObject({ team: 'ta', teams: [{ team: 'ta', role: 'viewer' }] });
    expect(JSON.stringify(s.body)).not.toContain('tb');
    const keysOfB = await http(`${t.url}/v1/keys`, asUser(s, { headers: { 'x-keel-team': 'tb' } }));
    expect(keysOfB.status).toBe(404);
    const sw = await http(`${t.url}/v1/session/team`, asUser(s, { method: 'PUT', json: { team: 'tb' } }));
    expect(sw.status).toBe(404);
    const me = await http(`${t.url}/v1/session`, asUser(s));
    expect(me.body.teams).toEqual([{ team: 'ta', role: 'viewer' }]);

    // Changing the password from that session does not widen it either.
    const NEW = 'a brand new passphrase of mine';
    const changed = await http(`${t.url}/v1/session/password`, asUser(s, { method: 'PUT', json: { current_password: PW, new_password: NEW } }));
    expect(changed.status, changed.text).toBe(200);
    expect((await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'newhire@corp.test', password: NEW, team: 'tb' } })).status).toBe(404);

    // A password a system admin sets opens every team of the person: team B's admin rights work.
    const SYS = 'set by the system admin today';
    const set = await http(`${t.url}/v1/users/newhire@corp.test/password`, { method: 'PUT', key: t.adminKey, json: { password: SYS } });
    expect(set.body).toMatchObject({ password_set: true, opens: 'all their teams' });
    const inB = await signIn(t.url, 'newhire@corp.test', SYS, 'tb');
    expect(inB.body).toMatchObject({ team: 'tb', role: 'admin' });
    expect((await http(`${t.url}/v1/keys`, asUser(inB))).status).toBe(200);
  });

  it('set by a team admin for a person of that team alone opens that team, and says so', async () => {
    await addUser(t.url, keys['ta-admin']!, { email: 'gil@corp.test', name: 'Gil', role: 'editor' });
    const set = await http(`${t.url}/v1/users/gil@corp.test/password`, { method: 'PUT', key: keys['ta-admin'], json: { password: PW } });
    expect(set.body).toMatchObject({ password_set: true, opens: ['ta'] });
    const s = await signIn(t.url, 'gil@corp.test', PW);
    expect(s.body).toMatchObject({ team: 'ta', role: 'editor' });

    // Gil joins team B and leaves team A: team A's password opens nothing, and says nothing of team B.
    expect((await http(`${t.url}/v1/users`, { key: keys['tb-admin'], json: { email: 'gil@corp.test', name: 'Gil', role: 'viewer' } })).status).toBe(201);
    expect((await http(`${t.url}/v1/users/gil@corp.test`, { method: 'DELETE', key: keys['ta-admin'] })).status).toBe(200);
    const none = await http(`${t.url}/v1/auth/sign-in`, { json: { email: 'gil@corp.test', password: PW } });
    expect(none.status).toBe(403);
    expect(none.body.error.message).toBe('your account is not a member of any team this password opens; ask a team admin to add you, or sign in with single sign-on');
    expect(none.headers['set-cookie']).toBeUndefined();
  });
});

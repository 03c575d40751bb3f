/**
 * The checks every one-click link goes through, whatever it does (acknowledge an incident, approve
 * a runbook step): the signature with Keel's link key, the expiry, and single use (a token's id is
 * recorded in `used_link_tokens` in the transaction of the action it did). Also the small HTML
 * pages the links answer browsers with.
 */
import type { Transaction } from 'kysely';
import { SENT } from '../../api/route.js';
import type { Clock } from '../../core/clock.js';
import { KeelError } from '../../core/errors.js';
import { iso } from '../../core/time-input.js';
import type { Database, Db } from '../../store/schema.js';
import { verifyLink, type LinkClaims } from './links.js';

/** What a person can do instead once a link does not work, per action. */
const INSTEAD: Record<LinkClaims['action'], string> = {
  ack: 'acknowledge in Keel or with `keel incidents ack`',
  resolve: 'resolve in Keel or with `keel incidents resolve`',
  approve: 'see the run in Keel’s console or with `keel runbooks show`',
};

export class LinkGate {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      /** The link-signing key (undefined while no link was ever issued). */
      key(): Promise<Buffer | undefined>;
    },
  ) {}

  /** The token's claims, or a KeelError saying why the link does not work (401, 410). */
  async claims(token: string): Promise<LinkClaims> {
    const key = await this.deps.key();
    // No key yet: no link was ever issued, so this one cannot be genuine.
    const v = key ? verifyLink(key, token, this.deps.clock.now()) : ({ ok: false, reason: 'bad_signature' } as const);
    if (!v.ok) {
      if (v.reason === 'expired') throw new KeelError('gone', `this link has expired; ${INSTEAD[v.claims?.action ?? 'ack']}`);
      throw new KeelError('unauthorized', 'this link is not valid (its signature does not match)');
    }
    const used = await this.deps.db.selectFrom('used_link_tokens').select('used_at').where('token_id', '=', v.claims.id).executeTakeFirst();
    if (used) throw new KeelError('gone', `this link was already used at ${iso(Number(used.used_at))}`);
    return v.claims;
  }

  /** Marks the token used inside the action's transaction; the primary key settles two clicks racing. */
  async use(trx: Transaction<Database>, claims: LinkClaims): Promise<void> {
    const used = await trx
      .insertInto('used_link_tokens')
      .values({ token_id: claims.id, used_at: this.deps.clock.now(), expires_at: claims.exp })
      .onConflict((oc) => oc.column('token_id').doNothing())
      .executeTakeFirst();
    if (Number(used.numInsertedOrUpdatedRows ?? 0n) === 0) throw new KeelError('gone', 'this link was already used');
  }
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A small standalone page (no script: the console's bundle is not needed to confirm a link). */
export function linkPage(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}button{font-size:1.2rem;padding:.6rem 1.4rem;margin-right:1rem}</style></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

/** A browser asking (not an API client): links answer it with pages. */
export function wantsHtml(accept: string | undefined): boolean {
  return /text\/html/.test(accept ?? '') && !/application\/json/.test(accept ?? '');
}

/** The part of a reply a link's answer uses (fastify's reply has it). */
export interface LinkReply {
  header(name: string, value: string): LinkReply;
  type(contentType: string): LinkReply;
  code(status: number): LinkReply;
  send(payload: string): unknown;
}

/** What a link's handler did: the API client's JSON, and the browser's page. */
export interface LinkAnswer<T> {
  json: T;
  title: string;
  body(): string;
}

/**
 * Answers a link: an API client gets the JSON (or the error as JSON); a browser gets a page (or a
 * page saying why the link does not work, with the error's 4xx). The token is in the URL, so the
 * page is neither cached nor sent on as a Referer.
 */
export async function answerLink<T>(accept: string | undefined, reply: LinkReply, work: () => Promise<LinkAnswer<T>>): Promise<T | typeof SENT> {
  const html = wantsHtml(accept);
  void reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
  try {
    const a = await work();
    if (!html) return a.json;
    void reply.type('text/html; charset=utf-8').send(linkPage(a.title, a.body()));
  } catch (e) {
    if (!html || !(e instanceof KeelError)) throw e;
    void reply
      .code(e.status)
      .type('text/html; charset=utf-8')
      .send(linkPage('This link does not work', `<p>${escapeHtml(e.message)}</p>`));
  }
  return SENT;
}

/**
 * Signed one-click links in notifications (acknowledge or resolve an incident, approve a runbook
 * step). The token carries what it does
 * and until when, and an HMAC-SHA256 over it with Keel's link key (a random key stored sealed by
 * the SecretBox); the link route records each token's id when used, so a link works once.
 * Pure: keys and times are parameters.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type LinkAction = 'ack' | 'resolve' | 'approve';

interface ClaimsBase {
  /** Token id (random), remembered once used. */
  id: string;
  tenant: string;
  /** The person the notification went to (null for channels): the actor of the action. */
  user: string | null;
  /** Expiry, epoch ms. */
  exp: number;
}

export interface IncidentLinkClaims extends ClaimsBase {
  action: 'ack' | 'resolve';
  incident: string;
}

/** Approves (or rejects) one approval step of one runbook run. */
export interface ApprovalLinkClaims extends ClaimsBase {
  action: 'approve';
  run: string;
  step: string;
}

export type LinkClaims = IncidentLinkClaims | ApprovalLinkClaims;
type Unsigned<C> = C extends LinkClaims ? Omit<C, 'id'> & { id?: string } : never;

export type VerifyResult = { ok: true; claims: LinkClaims } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired'; claims?: LinkClaims };

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

export function signLink(key: Buffer, claims: Unsigned<LinkClaims>): string {
  const full = { ...claims, id: claims.id ?? randomBytes(12).toString('base64url') };
  const payload = Buffer.from(JSON.stringify(full)).toString('base64url');
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

export function verifyLink(key: Buffer, token: string, now: number): VerifyResult {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > 2048) return { ok: false, reason: 'malformed' };
  const payload = token.slice(0, dot);
  const sig = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = mac(key, payload);
  if (sig.length !== expected.length || !timingSafeEqual(sig, expected)) return { ok: false, reason: 'bad_signature' };
  let claims: LinkClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as LinkClaims;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof claims.exp !== 'number' || typeof claims.id !== 'string' || !wellFormed(claims)) return { ok: false, reason: 'malformed' };
  if (now >= claims.exp) return { ok: false, reason: 'expired', claims };
  return { ok: true, claims };
}

function wellFormed(c: LinkClaims): boolean {
  if (c.action === 'ack' || c.action === 'resolve') return typeof c.incident === 'string';
  return c.action === 'approve' && typeof c.run === 'string' && typeof c.step === 'string';
}

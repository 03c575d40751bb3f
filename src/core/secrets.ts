/**
 * Encryption of stored secrets (integration keys, webhook secrets, SMTP passwords): AES-256-GCM
 * with a random 96-bit nonce per value. Sealed values carry the id of the key that sealed them,
 * so keys can be rotated: new values use the newest key, old ones open with theirs until
 * re-encrypted.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { KeelError } from './errors.js';

export interface SecretBox {
  /** `v1:<keyId>:<nonce>:<ciphertext+tag>`, base64url parts. */
  seal(plaintext: string): string;
  open(sealed: string): string;
  /** Id of the key new values are sealed with. */
  readonly currentKeyId: string;
  /** Ids of every key that can open values, the current one first. */
  keyIds(): string[];
}

/** Id of the key a sealed value was sealed with, or undefined when it is not a sealed value. */
export function sealedKeyId(sealed: string): string | undefined {
  const parts = sealed.split(':');
  return parts.length === 4 && parts[0] === 'v1' && parts[1] ? parts[1] : undefined;
}

export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 8);
}

export class AesGcmSecretBox implements SecretBox {
  private keys = new Map<string, Buffer>();
  currentKeyId: string;

  /** `keys[0]` seals; every key opens what it sealed. Each key is 32 bytes. */
  constructor(keys: Buffer[]) {
    this.currentKeyId = '';
    this.setKeys(keys);
  }

  /** Replaces the keys (rotation): `keys[0]` seals from now on. */
  setKeys(keys: Buffer[]): void {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key');
    const next = new Map<string, Buffer>();
    for (const k of keys) {
      if (k.length !== 32) throw new KeelError('validation_failed', 'secret keys must be 32 bytes (AES-256)');
      next.set(keyIdOf(k), k);
    }
    this.keys = next;
    this.currentKeyId = keyIdOf(keys[0]!);
  }

  keyIds(): string[] {
    return [this.currentKeyId, ...[...this.keys.keys()].filter((id) => id !== this.currentKeyId)];
  }

  seal(plaintext: string): string {
    const key = this.keys.get(this.currentKeyId)!;
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `v1:${this.currentKeyId}:${nonce.toString('base64url')}:${ct.toString('base64url')}`;
  }

  open(sealed: string): string {
    const [v, keyId, nonceB64, ctB64] = sealed.split(':');
    if (v !== 'v1' || !keyId || !nonceB64 || !ctB64) throw new Error('not a sealed secret');
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`secret was sealed with key ${keyId}, which is not configured`);
    const buf = Buffer.from(ctB64, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonceB64, 'base64url'));
    decipher.setAuthTag(buf.subarray(buf.length - 16));
    return Buffer.concat([decipher.update(buf.subarray(0, buf.length - 16)), decipher.final()]).toString('utf8');
  }
}

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
}

export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 8);
}

export class AesGcmSecretBox implements SecretBox {
  private readonly keys = new Map<string, Buffer>();
  readonly currentKeyId: string;

  /** `keys[0]` seals; every key opens what it sealed. Each key is 32 bytes. */
  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key');
    for (const k of keys) {
      if (k.length !== 32) throw new KeelError('validation_failed', 'secret keys must be 32 bytes (AES-256)');
      this.keys.set(keyIdOf(k), k);
    }
    this.currentKeyId = keyIdOf(keys[0]!);
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

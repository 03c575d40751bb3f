/**
 * The key that seals stored secrets: KEEL_SECRET_KEY (32 bytes, base64 or hex), else the
 * configured key file, else `<dataDir>/secret.key`, created (mode 0600) on first start.
 * KEEL_SECRET_KEY_PREVIOUS (comma-separated) keeps older keys able to open what they sealed.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeelConfig } from '../core/config.js';
import { KeelError } from '../core/errors.js';
import { AesGcmSecretBox, type SecretBox } from '../core/secrets.js';

export function decodeKey(text: string, source: string): Buffer {
  const t = text.trim();
  const buf = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (buf.length !== 32) throw new KeelError('validation_failed', `${source} must hold a 32-byte key, as 64 hex characters or base64`);
  return buf;
}

export function loadSecretBox(config: KeelConfig, env: NodeJS.ProcessEnv = process.env): SecretBox {
  let current: Buffer;
  if (env.KEEL_SECRET_KEY) current = decodeKey(env.KEEL_SECRET_KEY, 'KEEL_SECRET_KEY');
  else {
    const file = config.secrets.keyFile ?? join(config.dataDir, 'secret.key');
    if (!existsSync(file)) {
      if (config.secrets.keyFile) throw new KeelError('validation_failed', `secret key file ${file} does not exist`);
      writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    }
    current = decodeKey(readFileSync(file, 'utf8'), file);
  }
  const previous = (env.KEEL_SECRET_KEY_PREVIOUS ?? '')
    .split(',')
    .filter((s) => s.trim())
    .map((s, i) => decodeKey(s, `KEEL_SECRET_KEY_PREVIOUS[${i}]`));
  return new AesGcmSecretBox([current, ...previous]);
}

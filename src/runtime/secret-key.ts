/**
 * The key that seals stored secrets: KEEL_SECRET_KEY (32 bytes, base64 or hex), else the
 * configured key file, else `<dataDir>/secret.key`, created (mode 0600) on first start.
 * KEEL_SECRET_KEY_PREVIOUS (comma-separated) keeps older keys able to open what they sealed.
 * The logic lives in core/secret-keyring.ts, where rotation can reach it.
 */
import type { KeelConfig } from '../core/config.js';
import { SecretKeyring } from '../core/secret-keyring.js';
import type { SecretBox } from '../core/secrets.js';

export { decodeKey } from '../core/secret-keyring.js';

export function loadKeyring(config: KeelConfig, env: NodeJS.ProcessEnv = process.env, options: { deferNewKey?: boolean } = {}): SecretKeyring {
  return SecretKeyring.load(config, env, options);
}

export function loadSecretBox(config: KeelConfig, env: NodeJS.ProcessEnv = process.env): SecretBox {
  return SecretKeyring.load(config, env).box;
}

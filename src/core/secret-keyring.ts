/**
 * The keys that seal stored secrets, and where they come from: KEEL_SECRET_KEY (plus
 * KEEL_SECRET_KEY_PREVIOUS) or a key file (one key per line, the current one first, older ones
 * after it until nothing is sealed with them). With a key file Keel can generate the next key
 * itself; with the environment the operator supplies it.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KeelConfig } from './config.js';
import { KeelError } from './errors.js';
import { AesGcmSecretBox, keyIdOf } from './secrets.js';

export function decodeKey(text: string, source: string): Buffer {
  const t = text.trim();
  const buf = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (buf.length !== 32) throw new KeelError('validation_failed', `${source} must hold a 32-byte key, as 64 hex characters or base64`);
  return buf;
}

export type KeySource = { kind: 'env'; location: 'KEEL_SECRET_KEY' } | { kind: 'file'; location: string };

function readKeyFile(file: string): Buffer[] {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (lines.length === 0) throw new KeelError('validation_failed', `secret key file ${file} holds no key`);
  return lines.map((l, i) => decodeKey(l, `${file} line ${i + 1}`));
}

/** Replaces the file in one rename, after its content is on disk: a crash leaves the old or the new file, never half of one. */
function writeKeyFile(file: string, keys: Buffer[]): void {
  const tmp = join(dirname(file), `.${Date.now()}.secret.key.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${keys.map((k) => k.toString('base64')).join('\n')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export class SecretKeyring {
  private constructor(
    readonly box: AesGcmSecretBox,
    readonly source: KeySource,
    private keys: Buffer[],
  ) {}

  static load(config: KeelConfig, env: NodeJS.ProcessEnv = process.env): SecretKeyring {
    if (env.KEEL_SECRET_KEY) {
      const previous = (env.KEEL_SECRET_KEY_PREVIOUS ?? '')
        .split(',')
        .filter((s) => s.trim())
        .map((s, i) => decodeKey(s, `KEEL_SECRET_KEY_PREVIOUS[${i}]`));
      const keys = [decodeKey(env.KEEL_SECRET_KEY, 'KEEL_SECRET_KEY'), ...previous];
      return new SecretKeyring(new AesGcmSecretBox(keys), { kind: 'env', location: 'KEEL_SECRET_KEY' }, keys);
    }
    const file = config.secrets.keyFile ?? join(config.dataDir, 'secret.key');
    if (!existsSync(file)) {
      if (config.secrets.keyFile) throw new KeelError('validation_failed', `secret key file ${file} does not exist`);
      writeKeyFile(file, [randomBytes(32)]);
    }
    const keys = readKeyFile(file);
    return new SecretKeyring(new AesGcmSecretBox(keys), { kind: 'file', location: file }, keys);
  }

  /** A new current key, written to the key file before anything is sealed with it; older keys stay to open old values. */
  generate(): string {
    if (this.source.kind !== 'file') {
      throw new KeelError(
        'conflict',
        'the secret key comes from KEEL_SECRET_KEY: set the new key there, move the old one to KEEL_SECRET_KEY_PREVIOUS, restart, then rotate without --new-key',
      );
    }
    const keys = [randomBytes(32), ...this.keys];
    writeKeyFile(this.source.location, keys);
    this.keys = keys;
    this.box.setKeys(keys);
    return keyIdOf(keys[0]!);
  }

  /** Drops older keys that no stored value needs any more (key file only); returns the ids dropped. */
  retire(stillUsed: Set<string>): string[] {
    if (this.source.kind !== 'file') return [];
    const keep = this.keys.filter((k, i) => i === 0 || stillUsed.has(keyIdOf(k)));
    const dropped = this.keys.filter((k) => !keep.includes(k)).map(keyIdOf);
    if (dropped.length === 0) return [];
    writeKeyFile(this.source.location, keep);
    this.keys = keep;
    this.box.setKeys(keep);
    return dropped;
  }
}

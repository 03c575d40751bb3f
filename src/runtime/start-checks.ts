/**
 * Checks before a Keel serves anything, so it never pretends to be healthy: the port is free
 * before the first-start bootstrap creates the one admin key (a key created by a start that then
 * cannot listen would never be shown), and the configured key opens every stored sealed secret
 * (a missing or wrong key would otherwise start "healthy" with every secret unreadable).
 */
import { createServer } from 'node:net';
import type { Kysely } from 'kysely';
import type { KeelConfig } from '../core/config.js';
import { KeelError } from '../core/errors.js';
import type { SealedColumns } from '../core/sealed-columns.js';
import { sealedUsage } from '../store/sealed-usage.js';
import type { SecretKeyring } from '../core/secret-keyring.js';
import type { Database } from '../store/schema.js';
import type { Logger } from '../telemetry/logger.js';

/** Binds the address once and lets it go; refuses with the reason when it cannot. */
export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(listenFailed(err, host, port, false)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** Why Keel cannot listen, and what to do; `keyLost` when this start already made the admin key. */
export function listenFailed(err: unknown, host: string, port: number, keyLost: boolean): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${host}:${port}`;
  const after = keyLost ? ' The admin key this first start created was not shown: mint a new one with keel admin create-key --data-dir <dir>.' : ' Nothing was set up.';
  if (code === 'EADDRINUSE') return new KeelError('conflict', `${where} is already in use (another Keel or another program): stop it, or start with --port <another port>.${after}`);
  if (code === 'EACCES') return new KeelError('conflict', `not allowed to listen on ${where} (ports below 1024 need privileges): start with --port <port above 1023>.${after}`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new KeelError('conflict', `cannot listen on ${where}: ${host} is not an address of this machine; start with --host <an address of this machine>.${after}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Refuses to start when stored secrets were sealed with a key the configured keyring lacks, unless
 * `secrets.allowUnreadable` (`--allow-unreadable-secrets`) says to go on. Saves a key generated for
 * a data dir without one only once this holds, so a missing key file never silently turns into a
 * new key.
 */
export async function assertSecretsReadable(input: { db: Kysely<Database>; sealed: SealedColumns; keyring: SecretKeyring; config: KeelConfig; logger: Logger }): Promise<void> {
  const { keyring, config } = input;
  const usage = await sealedUsage(input.db, input.sealed);
  const held = new Set(keyring.keyIds());
  const missing = usage.keyIdsInUse.filter((id) => !held.has(id));
  if (missing.length === 0) {
    keyring.saveNewKey();
    return;
  }
  const count = missing.reduce((n, id) => n + (usage.perKey[id] ?? 0), 0);
  const where = keyring.source.kind === 'env' ? 'KEEL_SECRET_KEY (and KEEL_SECRET_KEY_PREVIOUS)' : keyring.source.location;
  const reason = keyring.isNew
    ? `the secret key file ${where} is missing, but ${count} stored secret(s) are sealed with key(s) ${missing.join(', ')}`
    : `the secret key in ${where} (key id(s) ${keyring.keyIds().join(', ')}) cannot open ${count} stored secret(s), sealed with key(s) ${missing.join(', ')}`;
  if (config.secrets.allowUnreadable) {
    input.logger.warn({ unreadable: count, keyIds: missing }, `starting with unreadable secrets (--allow-unreadable-secrets): ${reason}`);
    keyring.saveNewKey();
    return;
  }
  throw new KeelError(
    'conflict',
    `refusing to start: ${reason}, so integrations, webhooks and sign-in providers that need them would fail. ` +
      `Fix: put back the key that sealed them (copy the key file of this data dir to ${keyring.source.kind === 'file' ? keyring.source.location : '<dataDir>/secret.key'}, or set KEEL_SECRET_KEY to it and older keys in KEEL_SECRET_KEY_PREVIOUS), then start again. ` +
      'To start anyway, with those secrets unreadable until the key is back (re-enter them to replace them), add --allow-unreadable-secrets. Nothing was changed.',
  );
}

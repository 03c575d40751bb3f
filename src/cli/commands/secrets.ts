/** `keel secrets status|rotate`: encryption of stored secrets. */
import type { Command } from 'commander';
import type { EncryptionStatus } from '../../auth/secret-rotation.js';
import { clientOf, globals } from '../context.js';
import { printJson, printTable } from '../output.js';

function printStatus(s: EncryptionStatus): void {
  process.stdout.write(
    `${s.algorithm}; key from ${s.key_source === 'env' ? 'KEEL_SECRET_KEY' : s.key_location}; current key ${s.current_key_id}; keys configured: ${s.key_ids.join(', ')}\n` +
      `${s.total_values} sealed value(s): ${s.under_older_keys} under older keys, ${s.unreadable} unreadable, ${s.not_sealed} not sealed\n`,
  );
  printTable(
    s.columns.map((c) => ({ column: `${c.table}.${c.column}`, what: c.description, values: c.values, by_key: Object.entries(c.by_key).map(([k, n]) => `${k}:${n}`) })),
    ['column', 'what', 'values', 'by_key'],
  );
}

export function registerSecrets(program: Command): void {
  const secrets = program.command('secrets').description('Encryption of stored secrets (integration keys, webhook secrets, SMTP passwords, SSO client secrets)');

  secrets
    .command('status')
    .description('Algorithm, key source, and how many values each key sealed (never a key or a secret)')
    .action(async (_opts: unknown, cmd: Command) => {
      const s = await clientOf(cmd).call<EncryptionStatus>('GET', '/v1/secrets/status');
      if (globals(cmd).json) return printJson(s);
      printStatus(s);
    });

  secrets
    .command('rotate')
    .description('Re-encrypt every stored secret under the current key; --new-key generates that key first (key file only)')
    .option('--new-key', 'generate a new key in the key file first (with KEEL_SECRET_KEY: set the new key there and restart instead)')
    .action(async (opts: { newKey?: boolean }, cmd: Command) => {
      const r = await clientOf(cmd).call<{ new_key_id?: string; reencrypted: number; retired_key_ids: string[]; status: EncryptionStatus }>('POST', '/v1/secrets/rotate', {
        body: { new_key: Boolean(opts.newKey) },
      });
      if (globals(cmd).json) return printJson(r);
      if (r.new_key_id) process.stdout.write(`new key ${r.new_key_id} written to the key file\n`);
      process.stdout.write(`re-encrypted ${r.reencrypted} value(s); retired key(s): ${r.retired_key_ids.join(', ') || 'none'}\n`);
      printStatus(r.status);
    });
}

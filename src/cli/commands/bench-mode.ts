/** `--mode embedded|distributed` with `--nats` and `--postgres`: the options of the benches that run either mode. */
import type { Command } from 'commander';
import { UsageError } from '../args.js';

export interface ModeOpts {
  mode: string;
  nats?: string;
  postgres?: string;
}

export function modeOptions(cmd: Command, distributedWhat: string): Command {
  return cmd
    .option('--mode <mode>', `embedded (one process, SQLite) or distributed (${distributedWhat})`, 'embedded')
    .option('--nats <urls>', 'distributed: NATS JetStream server(s) (env KEEL_NATS_URL)')
    .option('--postgres <url>', 'distributed: PostgreSQL URL (env KEEL_POSTGRES_URL)');
}

/** The distributed services to run against, or undefined for the embedded mode; a usage error when one is missing. */
export function distributedServices(opts: ModeOpts): { natsUrl: string; postgresUrl: string } | undefined {
  if (opts.mode !== 'embedded' && opts.mode !== 'distributed') throw new UsageError(`--mode must be embedded or distributed, got "${opts.mode}"`);
  if (opts.mode === 'embedded') return undefined;
  const natsUrl = opts.nats ?? process.env.KEEL_NATS_URL;
  const postgresUrl = opts.postgres ?? process.env.KEEL_POSTGRES_URL;
  if (!natsUrl || !postgresUrl) throw new UsageError('--mode distributed needs --nats <urls> and --postgres <url> (or KEEL_NATS_URL and KEEL_POSTGRES_URL)');
  return { natsUrl, postgresUrl };
}

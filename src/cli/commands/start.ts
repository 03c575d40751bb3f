/**
 * `keel start`: run Keel. Embedded by default (every role, one process, SQLite); with --role (or
 * --nats/--postgres) the distributed mode on NATS JetStream and PostgreSQL.
 */
import type { Command } from 'commander';
import { nonNegativeInt, port, positiveInt } from '../args.js';

interface StartOpts {
  dataDir?: string;
  port?: number;
  host?: string;
  config?: string;
  role: string;
  parseThreads?: number;
  nats?: string;
  postgres?: string;
  partitions?: number;
  allowUnreadableSecrets?: boolean;
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('Run Keel. Without --role, every role runs in this process on the embedded default (SQLite in --data-dir).')
    .option('-d, --data-dir <dir>', 'data directory (env KEEL_DATA_DIR)', undefined)
    .option('-p, --port <port>', 'HTTP port (env KEEL_PORT; default 7070)', port)
    .option('-H, --host <host>', 'address to listen on (env KEEL_HOST; default 127.0.0.1)')
    .option('-c, --config <file>', 'YAML configuration file (env KEEL_CONFIG; default <data-dir>/keel.yaml)')
    .option('--role <role>', 'ingest, worker, evaluator, api, or several comma-separated: the distributed mode; all (default) with --nats/--postgres too', 'all')
    .option('--nats <urls>', 'NATS JetStream server(s), comma-separated, nats:// or tls:// (env KEEL_NATS_URL)')
    .option('--postgres <url>', 'PostgreSQL URL, postgres://user:password@host:5432/db (env KEEL_POSTGRES_URL)')
    .option('--partitions <n>', 'event log partitions; every process must agree (env KEEL_PARTITIONS; default 8)', positiveInt)
    .option('--parse-threads <n>', 'threads that parse request bodies (0 = main thread)', nonNegativeInt)
    .option('--allow-unreadable-secrets', 'start even when stored secrets were sealed with a key this Keel lacks (they stay unreadable until the key is back)')
    .addHelpText(
      'after',
      [
        '',
        'On first start Keel creates the "default" tenant and prints an admin API key once.',
        'Set KEEL_BOOTSTRAP_KEY to choose that key (automation, tests). Lost it? keel admin create-key --data-dir <dir>.',
        '',
        'Start refuses (exit 2) when the port is taken, or when stored secrets were sealed with a key it',
        'does not have (a missing or wrong secret.key / KEEL_SECRET_KEY); --allow-unreadable-secrets overrides the latter.',
        '',
        'Distributed mode (docs/distributed.md): every process needs the same KEEL_SECRET_KEY, e.g.',
        '  export KEEL_NATS_URL=nats://nats:4222 KEEL_POSTGRES_URL=postgres://keel:secret@db/keel KEEL_SECRET_KEY=$(openssl rand -hex 32)',
        '  keel start --role ingest --port 7071',
        '  keel start --role worker --port 7072',
        '  keel start --role evaluator --port 7073',
        '  keel start --role api --port 7070',
        'Credentials and TLS: nats.user/password/token/credsFile/tls and postgres.tls in keel.yaml (see docs).',
      ].join('\n'),
    )
    .action(async (opts: StartOpts) => {
      // Imported here so that other commands start fast (no server, SQLite or fastify to load).
      const { loadConfig } = await import('../../core/config.js');
      const { createLogger } = await import('../../telemetry/logger.js');
      const { parseRoles } = await import('../../runtime/roles.js');
      const roles = parseRoles(opts.role);
      const config = loadConfig({
        ...(opts.config ? { configFile: opts.config } : {}),
        overrides: {
          dataDir: opts.dataDir,
          'server.port': opts.port,
          'server.host': opts.host,
          'ingest.parseThreads': opts.parseThreads,
          'nats.url': opts.nats,
          'postgres.url': opts.postgres,
          'nats.partitions': opts.partitions,
          'secrets.allowUnreadable': opts.allowUnreadableSecrets,
        },
      });
      const logger = createLogger(config.logLevel);
      const distributed = opts.role !== 'all' || Boolean(config.nats.url || config.postgres.url);
      const bootstrapKey = process.env.KEEL_BOOTSTRAP_KEY ? { bootstrapKey: process.env.KEEL_BOOTSTRAP_KEY } : {};
      const keel = distributed
        ? await (await import('../../runtime/distributed.js')).startDistributed({ config, logger, roles, ...bootstrapKey })
        : await (await import('../../runtime/embedded.js')).startEmbedded({ config, logger, ...bootstrapKey });
      const label = distributed && 'role' in keel ? `role ${keel.role}` : 'embedded';
      logger.info({ url: keel.url, mode: label }, 'keel started');
      if (keel.bootstrapKey?.generated) {
        // Straight to the terminal, never through the logger: the key must not land in log files.
        process.stderr.write(
          `\nKeel created the "default" tenant and this admin API key. It is shown once; store it now:\n\n    ${keel.bootstrapKey.adminKey}\n\n` +
            `Try: export KEEL_API_KEY=<the key>; keel keys list\n\n`,
        );
      }
      process.stderr.write(distributed ? `Keel (${label}) is listening on ${keel.url}\n` : `Keel is listening on ${keel.url} (data in ${config.dataDir})\n`);
      const { ShutdownSteps } = await import('../../core/shutdown.js');
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) {
            // A second signal: the operator wants out now.
            logger.warn({ signal }, 'second signal during shutdown: exiting now');
            process.exit(1);
          }
          stopping = true;
          const timeoutMs = config.server.shutdownTimeout;
          logger.info({ signal, timeoutMs }, 'shutting down');
          const steps = new ShutdownSteps();
          // Bounded: a step that never ends (a loop that does not return, a NATS drain or a
          // PostgreSQL pool waiting on a dependency that stopped answering) must not keep the
          // process alive past its grace period; say what was still waiting, and exit non-zero.
          const bound = setTimeout(() => {
            logger.error({ timeoutMs, waiting: steps.waiting() }, 'shutdown did not finish within server.shutdownTimeout; exiting');
            process.exit(1);
          }, timeoutMs);
          keel.close(steps).then(
            () => {
              clearTimeout(bound);
              logger.info('shutdown complete');
              resolve();
            },
            (err: unknown) => {
              clearTimeout(bound);
              logger.error({ err }, 'shutdown failed');
              process.exitCode = 1;
              resolve();
            },
          );
        };
        process.on('SIGINT', () => stop('SIGINT'));
        process.on('SIGTERM', () => stop('SIGTERM'));
      });
      // Everything is closed: a handle something forgot to release must not keep the process alive.
      setTimeout(() => {
        logger.warn('handles still open after shutdown; exiting');
        process.exit(process.exitCode ?? 0);
      }, 2_000).unref();
    });
}

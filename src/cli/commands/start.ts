/** `keel start`: run Keel (embedded default: every role, one process, SQLite). */
import type { Command } from 'commander';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../telemetry/logger.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('Run Keel. Without --role, every role runs in this process on the embedded default (SQLite in --data-dir).')
    .option('-d, --data-dir <dir>', 'data directory (env KEEL_DATA_DIR)', undefined)
    .option('-p, --port <port>', 'HTTP port (env KEEL_PORT; default 7070)', (v) => parsePort(v))
    .option('-H, --host <host>', 'address to listen on (env KEEL_HOST; default 127.0.0.1)')
    .option('-c, --config <file>', 'YAML configuration file (env KEEL_CONFIG; default <data-dir>/keel.yaml)')
    .option('--role <role>', 'all (default); ingest, worker, evaluator and api run the distributed mode', 'all')
    .option('--parse-threads <n>', 'threads that parse request bodies (0 = main thread)', (v) => Number(v))
    .addHelpText(
      'after',
      '\nOn first start Keel creates the "default" tenant and prints an admin API key once.\nSet KEEL_BOOTSTRAP_KEY to choose that key (automation, tests).',
    )
    .action(async (opts: { dataDir?: string; port?: number; host?: string; config?: string; role: string; parseThreads?: number }) => {
      if (opts.role !== 'all') {
        throw new Error(`--role ${opts.role} needs the distributed mode, which is not built yet; run without --role`);
      }
      const config = loadConfig({
        ...(opts.config ? { configFile: opts.config } : {}),
        overrides: {
          dataDir: opts.dataDir,
          'server.port': opts.port,
          'server.host': opts.host,
          'ingest.parseThreads': opts.parseThreads,
        },
      });
      const logger = createLogger(config.logLevel);
      // Loaded here, not at the top: every other command starts faster without the whole server.
      const { startEmbedded } = await import('../../runtime/embedded.js');
      const keel = await startEmbedded({ config, logger, ...(process.env.KEEL_BOOTSTRAP_KEY ? { bootstrapKey: process.env.KEEL_BOOTSTRAP_KEY } : {}) });
      logger.info({ url: keel.url, dataDir: config.dataDir }, 'keel started');
      if (keel.bootstrapKey?.generated) {
        // Straight to the terminal, never through the logger: the key must not land in log files.
        process.stderr.write(
          `\nKeel created the "default" tenant and this admin API key. It is shown once; store it now:\n\n    ${keel.bootstrapKey.adminKey}\n\n` +
            `Try: export KEEL_API_KEY=<the key>; keel keys list\n\n`,
        );
      }
      process.stderr.write(`Keel is listening on ${keel.url} (data in ${config.dataDir})\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'shutting down');
          keel.close().then(resolve, (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            resolve();
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port must be 0-65535, got "${v}"`);
  return n;
}

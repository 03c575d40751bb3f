/**
 * Runs the `keel` command line against a test server. `runCli` and `keelCliProcess` run the real
 * bin/keel.js (built dist/) as a child process; `keelCli` runs the CLI's own `main()` in this
 * process (same parsing, HTTP calls, output and exit codes, without a Node start per command,
 * which matters on a loaded 2-core machine).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';

export const KEEL_BIN = fileURLToPath(new URL('../../bin/keel.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { url?: string; key?: string; env?: Record<string, string>; input?: string; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = { ...(process.env as Record<string, string>), NO_COLOR: '1', ...options.env };
    delete env.KEEL_API_KEY;
    delete env.KEEL_URL;
    if (options.url) env.KEEL_URL = options.url;
    if (options.key) env.KEEL_API_KEY = options.key;
    const child = spawn(process.execPath, [KEEL_BIN, ...args], { env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

export function keelCliProcess(url: string, apiKey: string | undefined, args: string[], input?: string): Promise<CliResult> {
  return runCli(args, { url, ...(apiKey ? { key: apiKey } : {}), ...(input !== undefined ? { input } : {}) });
}

let queue: Promise<unknown> = Promise.resolve();

export function keelCli(url: string, apiKey: string | undefined, args: string[]): Promise<CliResult> {
  const run = async (): Promise<CliResult> => {
    let stdout = '';
    let stderr = '';
    const out = process.stdout.write;
    const err = process.stderr.write;
    process.stdout.write = ((chunk: string | Uint8Array) => {
      stdout += chunk.toString();
      return true;
    }) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      stderr += chunk.toString();
      return true;
    }) as typeof process.stderr.write;
    const exitCode = process.exitCode;
    try {
      process.exitCode = undefined;
      const code = await main(['node', 'keel', '--url', url, ...(apiKey ? ['--api-key', apiKey] : []), ...args]);
      return { code, stdout, stderr };
    } finally {
      process.stdout.write = out;
      process.stderr.write = err;
      process.exitCode = exitCode;
    }
  };
  const p = queue.then(run, run);
  queue = p.catch(() => undefined);
  return p;
}

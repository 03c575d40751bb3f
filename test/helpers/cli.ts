/**
 * Runs the `keel` command against a test server. `keelCli` runs the CLI's own `main()` in this
 * process (same argument parsing, HTTP calls, output and exit codes, without a Node start per
 * command); `keelCliProcess` runs the built bin/keel.js as a child process.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';

const KEEL = fileURLToPath(new URL('../../bin/keel.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
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

export function keelCliProcess(url: string, apiKey: string | undefined, args: string[], input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KEEL, '--url', url, ...(apiKey ? ['--api-key', apiKey] : []), ...args], {
      env: { ...process.env, KEEL_API_KEY: '', KEEL_URL: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

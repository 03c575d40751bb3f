/**
 * Runs the `keel` command: `keelCli` as a real process (the built bin/keel.js), `keel` in this
 * process through the same `main()` (no Node start-up per command, which on a loaded machine costs
 * seconds), with stdout, stderr and stdin swapped for the duration of the command.
 */
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { KEEL_BIN } from '../../src/bench/spawn-keel.js';
import { main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export { KEEL_BIN };

/** The real binary with a clean environment: only the URL and key given here, nothing inherited. */
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
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

export function keelCli(args: string[], options: { url?: string; key?: string; stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KEEL_BIN, ...args], {
      env: { ...process.env, ...(options.url ? { KEEL_URL: options.url } : {}), ...(options.key ? { KEEL_API_KEY: options.key } : {}), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

let running = false;

/** The same command in this process; one at a time. */
export async function keel(args: string[], options: { url?: string; key?: string; stdin?: string } = {}): Promise<CliResult> {
  if (running) throw new Error('keel(): one command at a time');
  running = true;
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const stdinDescriptor = Object.getOwnPropertyDescriptor(process, 'stdin')!;
  const savedExitCode = process.exitCode;
  process.exitCode = undefined;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  Object.defineProperty(process, 'stdin', { value: Readable.from([Buffer.from(options.stdin ?? '')]), configurable: true, enumerable: true });
  try {
    const flags = [...(options.url ? ['--url', options.url] : []), ...(options.key ? ['--api-key', options.key] : [])];
    const code = await main(['node', 'keel', ...flags, ...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    Object.defineProperty(process, 'stdin', stdinDescriptor);
    process.exitCode = savedExitCode;
    running = false;
  }
}

/** The real binary with extra environment variables (inherits the rest), killed after `timeoutMs`. */
export function runCliWithEnv(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KEEL_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`keel ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

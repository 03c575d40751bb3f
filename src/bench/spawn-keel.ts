/** Starts Keel in a child process on a fresh data dir, for benchmarks and crash tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

export const KEEL_BIN = fileURLToPath(new URL('../../bin/keel.js', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export interface KeelProcess {
  child: ChildProcess;
  url: string;
  port: number;
  dataDir: string;
  adminKey: string;
  /** What the process wrote: its stderr and its JSON logs (stdout). */
  stderr(): string;
  /** Everything the process wrote to stdout (its JSON logs), with `captureStdout`. */
  stdout(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
  cleanup(): void;
}

export type KeelCall = (method: 'GET' | 'POST' | 'PUT', path: string, key: string, body?: string, type?: string) => Promise<Record<string, unknown>>;

/** A JSON API call for benchmarks: the answer's JSON, or an Error naming the call and status. */
export function keelCall(url: string, timeoutMs = 300_000): KeelCall {
  return async (method, path, key, body, type = 'application/json') => {
    const res = await request(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': type },
      ...(body !== undefined ? { body } : {}),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
}

export async function waitReady(url: string, timeoutMs = 20_000, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`keel exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await request(`${url}/readyz`);
      await res.body.text();
      if (res.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`keel at ${url} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function spawnKeel(
  options: {
    dataDir?: string;
    port?: number;
    adminKey?: string;
    env?: Record<string, string>;
    args?: string[];
    keepDataDir?: boolean;
    /** Characters of output (stderr and the JSON logs on stdout) kept for `stderr()`; default 100,000. */
    keepOutput?: number;
    /** How long to wait for /readyz (default 30 s; a loaded machine starts slowly). */
    readyTimeoutMs?: number;
    /** Keep the whole stdout (the JSON log) for `stdout()`, e.g. to search it for secrets. */
    captureStdout?: boolean;
  } = {},
): Promise<KeelProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'keel-'));
  const port = options.port ?? (await freePort());
  const adminKey = options.adminKey ?? `keel_bench_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  const child = spawn(process.execPath, [KEEL_BIN, 'start', '--data-dir', dataDir, '--port', String(port), ...(options.args ?? [])], {
    env: { ...process.env, KEEL_BOOTSTRAP_KEY: adminKey, KEEL_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  if (options.captureStdout) child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  let err = '';
  const keep = options.keepOutput ?? 100_000;
  const collect = (d: Buffer) => {
    err += d.toString();
    if (err.length > keep) err = err.slice(-Math.floor(keep / 2));
  };
  child.stderr!.on('data', collect);
  child.stdout!.on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, options.readyTimeoutMs ?? 30_000, child);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${err}`);
  }
  return {
    child,
    url,
    port,
    dataDir,
    adminKey,
    stderr: () => err,
    stdout: () => out,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill(signal);
      await exited;
    },
    cleanup: () => {
      if (!options.keepDataDir && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts Keel in a child process on a fresh data dir, for benchmarks and crash tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
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

/**
 * Whether process `pid` holds the listening TCP socket of `port`: its open descriptors against
 * the listening sockets of /proc/net/tcp and tcp6 (Linux); undefined where /proc cannot tell.
 */
export function listensOn(pid: number, port: number): boolean | undefined {
  const inodes = new Set<string>();
  let tables = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let table: string;
    try {
      table = readFileSync(file, 'utf8');
      tables++;
    } catch {
      continue;
    }
    for (const line of table.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1]!.split(':')[1] ?? '', 16) === port) inodes.add(f[9]!);
    }
  }
  if (tables === 0) return undefined;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  if (inodes.size === 0) return false;
  for (const fd of fds) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (inodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '')) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
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
      // Bounded: a program that is not Keel may hold the port and never answer.
      const res = await request(`${url}/readyz`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
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
    /** Picks a free port when `port` is not given (default freePort; a test of the race below passes its own). */
    choosePort?: () => Promise<number>;
  } = {},
): Promise<KeelProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'keel-'));
  const adminKey = options.adminKey ?? `keel_bench_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  let out = '';
  let err = '';
  const keep = options.keepOutput ?? 100_000;
  // A port freePort() chose can be taken by another process before Keel binds it (Keel starts in
  // about a second): this Keel then exits, or another Keel answers /readyz in its place. Either
  // way it is started again on another port.
  let child: ChildProcess;
  let port: number;
  let url: string;
  let started = 0;
  for (let attempt = 1; ; attempt++) {
    port = options.port ?? (await (options.choosePort ?? freePort)());
    // What this attempt's process writes (a process given up on writes no more into it).
    out = '';
    err = '';
    const mine = ++started;
    const live = () => mine === started;
    const collect = (d: Buffer) => {
      if (!live()) return;
      err += d.toString();
      if (err.length > keep) err = err.slice(-Math.floor(keep / 2));
    };
    child = spawn(process.execPath, [KEEL_BIN, 'start', '--data-dir', dataDir, '--port', String(port), ...(options.args ?? [])], {
      env: { ...process.env, KEEL_BOOTSTRAP_KEY: adminKey, KEEL_LOG_LEVEL: 'warn', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (options.captureStdout) child.stdout!.on('data', (d: Buffer) => live() && (out += d.toString()));
    child.stderr!.on('data', collect);
    child.stdout!.on('data', collect);
    url = `http://127.0.0.1:${port}`;
    const retry = options.port === undefined && attempt < 3;
    try {
      await waitReady(url, options.readyTimeoutMs ?? 30_000, child);
    } catch (e) {
      child.kill('SIGKILL');
      if (retry && /already in use/.test(err)) continue;
      throw new Error(`${(e as Error).message}\n${err}`);
    }
    if (listensOn(child.pid!, port) !== false) break;
    child.kill('SIGKILL');
    if (!retry) throw new Error(`another process answers on port ${port}, not the Keel started there (pid ${child.pid})\n${err}`);
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

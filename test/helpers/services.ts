/**
 * Real NATS servers and PostgreSQL clusters of a test's own, on free loopback ports and temp
 * dirs, started and stopped (SIGKILL included) by process id. The shared services on 4222/5432
 * are never touched.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/bench/spawn-keel.js';

export const NATS_SERVER = '/usr/sbin/nats-server';

function pgBin(name: string): string {
  const versions = execFileSync('ls', ['/usr/lib/postgresql'])
    .toString()
    .trim()
    .split('\n')
    .sort((a, b) => Number(b) - Number(a));
  return `/usr/lib/postgresql/${versions[0]}/bin/${name}`;
}

async function waitForPort(port: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error(`server on port ${port} exited before it listened`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A self-signed certificate for 127.0.0.1 (it is its own CA). */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

export interface NatsServer {
  port: number;
  url: string;
  monitorUrl?: string;
  storeDir: string;
  child: ChildProcess;
  log(): string;
  /** SIGKILL (default) or SIGTERM by process id, and wait for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start again on the same port and store dir. */
  restart(): Promise<void>;
  cleanup(): void;
}

export interface NatsServerOptions {
  user?: string;
  pass?: string;
  tls?: { cert: string; key: string };
  monitor?: boolean;
  cluster?: { name: string; serverName: string; port: number; routes: number[] };
  port?: number;
  storeDir?: string;
}

export async function startNatsServer(o: NatsServerOptions = {}): Promise<NatsServer> {
  const port = o.port ?? (await freePort());
  const storeDir = o.storeDir ?? mkdtempSync(join(tmpdir(), 'keel-nats-'));
  const monitorPort = o.monitor ? await freePort() : undefined;
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
  if (o.user) args.push('--user', o.user, '--pass', o.pass ?? '');
  if (o.tls) args.push('--tls', '--tlscert', o.tls.cert, '--tlskey', o.tls.key);
  if (monitorPort) args.push('-m', String(monitorPort));
  if (o.cluster) {
    args.push('--server_name', o.cluster.serverName, '--cluster_name', o.cluster.name, '--cluster', `nats://127.0.0.1:${o.cluster.port}`);
    args.push('--routes', o.cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(','));
  }
  let out = '';
  const server: NatsServer = {
    port,
    url: `${o.tls ? 'tls' : 'nats'}://127.0.0.1:${port}`,
    ...(monitorPort ? { monitorUrl: `http://127.0.0.1:${monitorPort}` } : {}),
    storeDir,
    child: undefined as unknown as ChildProcess,
    log: () => out,
    kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
      const c = server.child;
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      process.kill(c.pid!, signal);
      await exited;
    },
    restart: async () => {
      await server.kill();
      await launch();
    },
    cleanup: () => {
      if (!o.storeDir) rmSync(storeDir, { recursive: true, force: true });
    },
  };
  const launch = async () => {
    const child = spawn(NATS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-50_000)));
    child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-50_000)));
    server.child = child;
    await waitForPort(port, 15_000, () => child.exitCode === null);
  };
  await launch();
  return server;
}

export interface PostgresServer {
  port: number;
  /** Connection URL (with the password when one is set). */
  url: string;
  dir: string;
  pid(): number;
  /** Crash it: SIGQUIT to the postmaster by process id (immediate shutdown, no checkpoint; recovery on start). */
  crash(): Promise<void>;
  start(): Promise<void>;
  log(): string;
  cleanup(): Promise<void>;
}

export interface PostgresOptions {
  password?: string;
  tls?: boolean;
}

function asPostgres(): { uid: number; gid: number } {
  return { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) };
}

function run(cmd: string, args: string[], ids: { uid: number; gid: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { ...ids, stdio: ['ignore', 'ignore', 'pipe'], cwd: '/tmp' });
    let err = '';
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** A PostgreSQL cluster of its own (initdb + pg_ctl as the postgres user; initdb refuses root). */
export async function startPostgres(o: PostgresOptions = {}): Promise<PostgresServer & { caFile?: string }> {
  const ids = asPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'keel-pg-'));
  chownSync(dir, ids.uid, ids.gid);
  const data = join(dir, 'data');
  const port = await freePort();
  const initArgs = ['-D', data, '-U', 'postgres', '--no-sync', '-E', 'UTF8'];
  if (o.password) {
    const pw = join(dir, 'pw');
    writeFileSync(pw, o.password);
    chownSync(pw, ids.uid, ids.gid);
    initArgs.push('--auth', 'scram-sha-256', '--pwfile', pw);
  } else initArgs.push('--auth', 'trust');
  await run(pgBin('initdb'), initArgs, ids);
  const conf = [`port = ${port}`, "listen_addresses = '127.0.0.1'", `unix_socket_directories = '${dir}'`, 'fsync = on', 'max_connections = 100'];
  let caFile: string | undefined;
  if (o.tls) {
    const certDir = join(dir, 'tls');
    mkdirSync(certDir);
    const { cert, key } = selfSignedCert(certDir);
    for (const f of [certDir, cert, key]) chownSync(f, ids.uid, ids.gid);
    execFileSync('chmod', ['600', key]);
    conf.push('ssl = on', `ssl_cert_file = '${cert}'`, `ssl_key_file = '${key}'`);
    caFile = cert;
  }
  writeFileSync(join(data, 'postgresql.auto.conf'), `${conf.join('\n')}\n`);
  chownSync(join(data, 'postgresql.auto.conf'), ids.uid, ids.gid);
  const logFile = join(dir, 'server.log');
  const start = () => run(pgBin('pg_ctl'), ['-D', data, '-l', logFile, '-w', '-t', '30', 'start'], ids);
  await start();
  const auth = o.password ? `postgres:${encodeURIComponent(o.password)}@` : 'postgres@';
  return {
    port,
    url: `postgres://${auth}127.0.0.1:${port}/postgres`,
    dir,
    ...(caFile ? { caFile } : {}),
    pid: () => Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]),
    crash: async () => {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGQUIT');
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          process.kill(pid, 0);
        } catch {
          return;
        }
        if (Date.now() > deadline) throw new Error(`postmaster ${pid} did not exit`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    start,
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    cleanup: async () => {
      await run(pgBin('pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], ids).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

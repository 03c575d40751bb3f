/**
 * deploy/ansible: ansible-lint clean, --syntax-check, then real runs of the playbook against this
 * machine (`-c local`) into temporary prefixes (no user created, no service started): a second
 * run changes nothing; the units pass `systemd-analyze verify`; Keel started exactly as the unit
 * says answers /healthz; the backup script writes backups and keeps the newest N; the
 * distributed mode lays down one unit per role.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitReady } from '../../src/bench/spawn-keel.js';
import { cleanup, uniqueNames } from '../helpers/dist.js';
import { NATS_URL, PG_URL } from '../helpers/stores.js';
import { ROOT } from './support/manifests.js';

const run = promisify(execFile);
const ANSIBLE = join(ROOT, 'deploy/ansible');
const env = { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0', ANSIBLE_LOCALHOST_WARNING: 'false' };

interface Recap {
  ok: number;
  changed: number;
  failed: number;
  output: string;
}

async function playbook(inventory: string, vars: Record<string, unknown>, extra: string[] = []): Promise<Recap> {
  const varsFile = join(tmpdir(), `keel-ansible-vars-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(varsFile, JSON.stringify(vars));
  try {
    const r = await run('ansible-playbook', ['-i', inventory, 'playbook.yml', '-e', `@${varsFile}`, ...extra], { cwd: ANSIBLE, env, maxBuffer: 64 << 20 }).catch(
      (e: { stdout?: string; stderr?: string }) => ({ stdout: `${e.stdout ?? ''}\n${e.stderr ?? ''}`, stderr: '' }),
    );
    const m = /localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/.exec(r.stdout);
    if (!m) throw new Error(`no PLAY RECAP:\n${r.stdout.slice(-3000)}`);
    return { ok: Number(m[1]), changed: Number(m[2]), failed: Number(m[3]), output: r.stdout };
  } finally {
    rmSync(varsFile, { force: true });
  }
}

/** The unit's ExecStart and the variables of its EnvironmentFile, as systemd would use them. */
function unitCommand(unitFile: string): { argv: string[]; env: Record<string, string>; stdoutFile?: string } {
  const unit = readFileSync(unitFile, 'utf8');
  const exec = /^ExecStart=(.+)$/m.exec(unit)![1]!.split(/\s+/);
  const envFile = /^EnvironmentFile=(.+)$/m.exec(unit)![1]!;
  const vars: Record<string, string> = {};
  for (const line of readFileSync(envFile, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) vars[m[1]!] = m[2]!;
  }
  const out = /^StandardOutput=append:(.+)$/m.exec(unit)?.[1];
  return { argv: exec, env: vars, ...(out ? { stdoutFile: out } : {}) };
}

function startUnit(unitFile: string): ChildProcess {
  const { argv, env: vars } = unitCommand(unitFile);
  return spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH!, ...vars }, stdio: 'ignore' });
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Variables of a test install: under a prefix, as root, this machine's Node, nothing started. */
function prefixInstall(): Record<string, unknown> {
  return {
    keel_archive: archive,
    keel_manage_user: false,
    keel_user: 'root',
    keel_group: 'root',
    keel_install_node: false,
    keel_manage_services: false,
    keel_node: process.execPath,
  };
}

let work: string;
let archive: string;
let inventory: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'keel-ansible-'));
  archive = join(work, 'keel.tar.gz');
  await run(join(ROOT, 'scripts/release-archive.sh'), [archive], { env, maxBuffer: 16 << 20 });
  inventory = join(work, 'inventory.ini');
  // The test runs as root on this machine: no privilege escalation (and no sudo) needed.
  writeFileSync(inventory, `[keel]\nlocalhost ansible_connection=local ansible_become=false ansible_python_interpreter=/usr/bin/python3\n`);
}, 180_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('Ansible role', () => {
  it('is ansible-lint clean (production profile) and passes --syntax-check', async () => {
    const lint = await run('ansible-lint', ['--profile', 'production', '--nocolor'], { cwd: ANSIBLE, env });
    expect(lint.stdout + lint.stderr).toMatch(/Passed with production profile: 0 failure\(s\), 0 warning\(s\)/);
    const syntax = await run('ansible-playbook', ['-i', inventory, '--syntax-check', 'playbook.yml'], { cwd: ANSIBLE, env });
    expect(syntax.stdout).toContain('playbook: playbook.yml');
  }, 180_000);

  describe('embedded mode, installed under a prefix', () => {
    let root: string;
    let port: number;
    const adminKey = `keel_ansible_${randomBytes(12).toString('hex')}`;
    let keel: ChildProcess | undefined;
    let first: Recap;
    let second: Recap;

    beforeAll(async () => {
      root = join(work, 'embedded');
      port = await freePort();
      const vars = {
        keel_root: root,
        ...prefixInstall(),
        keel_port: port,
        keel_bootstrap_key: adminKey,
        keel_backup_keep: 2,
        keel_config: { log: { retention: { maxAge: '3d' } } },
      };
      first = await playbook(inventory, vars);
      second = await playbook(inventory, vars);
    }, 300_000);
    afterAll(async () => stopChild(keel));

    it('installs, and a second run reports no changes', () => {
      expect(first.failed, first.output.slice(-3000)).toBe(0);
      expect(first.changed).toBeGreaterThan(0);
      expect(second.failed).toBe(0);
      expect(second.changed, second.output.slice(-4000)).toBe(0);
    });

    it('lays down the app, config from variables, secrets readable only by root and the group, a hardened unit', () => {
      expect(existsSync(join(root, 'opt/keel/current/bin/keel.js'))).toBe(true);
      expect(readdirSync(join(root, 'opt/keel/current/node_modules'))).not.toContain('vitest');
      const config = readFileSync(join(root, 'etc/keel/keel.yaml'), 'utf8');
      expect(config).toContain(`dataDir: ${root}/var/lib/keel`);
      expect(config).toContain(`port: ${port}`);
      expect(config).toContain('maxAge: 3d');
      expect(config).not.toContain(adminKey);
      const { mode } = statSync(join(root, 'etc/keel/keel.env'));
      expect(mode & 0o777).toBe(0o640);
      const unit = readFileSync(join(root, 'etc/systemd/system/keel.service'), 'utf8');
      for (const directive of [
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        `ReadWritePaths=${root}/var/lib/keel ${root}/var/log/keel`,
        'PrivateTmp=yes',
        'CapabilityBoundingSet=',
        'SystemCallFilter=@system-service',
      ]) {
        expect(unit).toContain(directive);
      }
    });

    it('every unit passes systemd-analyze verify', async () => {
      for (const u of ['keel.service', 'keel-backup.service', 'keel-backup.timer']) {
        const r = await run('systemd-analyze', ['verify', join(root, 'etc/systemd/system', u)], { env }).then(
          (x) => ({ code: 0, out: x.stdout + x.stderr }),
          (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
        );
        expect(r, u).toEqual({ code: 0, out: '' });
      }
    });

    it('the log rotation config parses', async () => {
      const r = await run('logrotate', ['--debug', '--state', join(work, 'logrotate.state'), join(root, 'etc/logrotate.d/keel')], { env });
      expect(r.stderr).toContain(`${root}/var/log/keel/*.log`);
    });

    it('Keel starts from what the role laid down and answers /healthz; the backup timer writes backups and keeps the newest 2', async () => {
      keel = startUnit(join(root, 'etc/systemd/system/keel.service'));
      const url = `http://127.0.0.1:${port}`;
      await waitReady(url, 60_000, keel);
      const health = await request(`${url}/healthz`);
      expect(health.statusCode).toBe(200);
      expect(await health.body.json()).toMatchObject({ status: 'ok' });
      // The bootstrap key from the variables is the admin key.
      const keys = await request(`${url}/v1/keys`, { headers: { authorization: `Bearer ${adminKey}` } });
      expect(keys.statusCode).toBe(200);
      await keys.body.text();
      // The `keel` command the role installed names this build.
      const version = await run(join(root, 'usr/local/bin/keel'), ['version', '--json'], { env });
      expect(JSON.parse(version.stdout)).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), commit: expect.stringMatching(/^[0-9a-f]{40}$/) });

      const backup = unitCommand(join(root, 'etc/systemd/system/keel-backup.service'));
      for (let i = 0; i < 3; i++) await run(backup.argv[0]!, backup.argv.slice(1), { env: { PATH: process.env.PATH!, ...backup.env } });
      const files = readdirSync(join(root, 'var/backups/keel')).filter((f) => f.endsWith('.backup'));
      expect(files).toHaveLength(2);
      // A kept backup restores.
      const restored = join(work, 'restored');
      const r = await run(process.execPath, [join(root, 'opt/keel/current/bin/keel.js'), 'restore', join(root, 'var/backups/keel', files[0]!), '--data-dir', restored], { env });
      expect(r.stdout).toContain('restored the backup');
    }, 120_000);
  });

  describe('distributed mode', () => {
    const names = uniqueNames('ansible');
    let root: string;
    let port: number;
    let api: ChildProcess | undefined;
    let recap: Recap;

    beforeAll(async () => {
      root = join(work, 'distributed');
      port = await freePort();
      recap = await playbook(inventory, {
        keel_root: root,
        ...prefixInstall(),
        keel_mode: 'distributed',
        keel_roles: ['api', 'worker'],
        keel_role_ports: { api: port, worker: await freePort() },
        keel_secret_key: randomBytes(32).toString('hex'),
        keel_nats_url: NATS_URL,
        keel_postgres_url: PG_URL,
        keel_bootstrap_key: `keel_ansible_${randomBytes(12).toString('hex')}`,
        keel_config: { nats: { stream: names.stream, subjectPrefix: names.prefix, partitions: 2 }, postgres: { schema: names.schema } },
      });
    }, 300_000);
    afterAll(async () => {
      await stopChild(api);
      await cleanup(names);
    });

    it('lays down one unit per role (no backup timer: PostgreSQL has its own backups), and the api role starts from it', async () => {
      expect(recap.failed, recap.output.slice(-3000)).toBe(0);
      const units = readdirSync(join(root, 'etc/systemd/system')).sort();
      expect(units).toEqual(['keel-api.service', 'keel-worker.service']);
      const worker = readFileSync(join(root, 'etc/systemd/system/keel-worker.service'), 'utf8');
      expect(worker).toMatch(/^ExecStart=.* start --config \S+ --role worker --port \d+$/m);
      for (const u of units) await run('systemd-analyze', ['verify', join(root, 'etc/systemd/system', u)], { env });
      api = startUnit(join(root, 'etc/systemd/system/keel-api.service'));
      await waitReady(`http://127.0.0.1:${port}`, 60_000, api);
      const ready = await request(`http://127.0.0.1:${port}/readyz`);
      expect(await ready.body.json()).toMatchObject({ status: 'ready', role: 'api' });
    }, 120_000);

    it('refuses the distributed mode without its secrets', async () => {
      const r = await playbook(inventory, {
        keel_root: join(work, 'refused'),
        keel_archive: archive,
        keel_mode: 'distributed',
        keel_install_node: false,
        keel_manage_services: false,
        keel_manage_user: false,
      });
      expect(r.failed).toBe(1);
      expect(r.output).toContain('the distributed mode needs keel_secret_key');
    }, 120_000);
  });
});

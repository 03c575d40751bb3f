/**
 * The container image: built from the Containerfile with Debian's buildah (vfs storage, chroot
 * isolation) on a base made with debootstrap plus this machine's Node (no registry is reachable
 * here; production builds on the public Node 20 images), then run with `buildah run`: Keel starts
 * in it as the unprivileged user, answers /healthz (and the image's HEALTHCHECK command agrees),
 * a distributed role starts from the same image, and nothing is written outside /var/lib/keel.
 *
 * Slow (~2-4 minutes; the debootstrap root filesystem is cached under /var/cache/keel-test):
 * KEEL_SKIP_IMAGE_BUILD=1 skips it locally with a loud message; CI (CI=true) refuses to skip.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitReady } from '../../src/bench/spawn-keel.js';
import { cleanup, uniqueNames } from '../helpers/dist.js';
import { clusterEnv } from './support/live-metrics.js';
import { ROOT } from './support/manifests.js';

const run = promisify(execFile);
const SKIP = process.env.KEEL_SKIP_IMAGE_BUILD === '1';
const BUILDAH = ['--storage-driver', 'vfs'];
const BASE = 'localhost/keel-test-base:bookworm';

async function buildah(args: string[], timeout = 900_000): Promise<string> {
  const r = await run('buildah', [...BUILDAH, ...args], { maxBuffer: 256 << 20, timeout });
  return r.stdout;
}

/** `buildah run` in the container, detached into its own process group so it can be stopped whole. */
function runDetached(container: string, env: Record<string, string>, argv: string[]): ChildProcess {
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  return spawn('buildah', [...BUILDAH, 'run', '--isolation', 'chroot', ...envArgs, container, '--', ...argv], { detached: true, stdio: 'ignore' });
}

async function stopGroup(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid, 'SIGTERM');
  await exited;
}

if (SKIP) {
  describe('container image', () => {
    it('is NOT built: KEEL_SKIP_IMAGE_BUILD=1 (never in CI)', () => {
      process.stderr.write('\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n');
      process.stderr.write('!!! SKIPPED: the container image build test (KEEL_SKIP_IMAGE_BUILD=1) !!!\n');
      process.stderr.write('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n');
      expect(process.env.CI, 'CI must build the image: unset KEEL_SKIP_IMAGE_BUILD').not.toBe('true');
    });
  });
} else {
  describe('container image', () => {
    const tag = `localhost/keel-test:${randomBytes(4).toString('hex')}`;
    const commit = randomBytes(20).toString('hex');
    let container = '';
    let rootfs = '';
    let config: { User: string; Entrypoint: string[]; Cmd: string[]; Healthcheck: { Test: string[] }; Volumes: Record<string, unknown>; Env: string[] };
    const work = mkdtempSync(join(tmpdir(), 'keel-image-'));
    const marker = join(work, 'marker');

    beforeAll(async () => {
      const t0 = Date.now();
      await run('bash', [join(ROOT, 'test/deploy/support/test-base-image.sh'), BASE], { maxBuffer: 16 << 20, timeout: 900_000 });
      const t1 = Date.now();
      await buildah([
        'bud',
        '--isolation',
        'chroot',
        '--format',
        'docker',
        '--quiet',
        '--ignorefile',
        join(ROOT, 'test/deploy/support/containerignore.test'),
        '--build-arg',
        `BUILD_IMAGE=${BASE}`,
        '--build-arg',
        `RUNTIME_IMAGE=${BASE}`,
        '--build-arg',
        `KEEL_COMMIT=${commit}`,
        '--build-arg',
        'KEEL_BUILD_DATE=2026-12-04T12:00:00Z',
        '-t',
        tag,
        '-f',
        join(ROOT, 'Containerfile'),
        ROOT,
      ]);
      const t2 = Date.now();
      const images = JSON.parse(await buildah(['images', '--json'])) as { names?: string[]; size: string }[];
      const size = (name: string) => images.find((i) => i.names?.includes(name))?.size ?? '?';
      process.stderr.write(`image ${tag}: ${size(tag)} (base ${size(BASE)}); base ready in ${((t1 - t0) / 1000).toFixed(0)} s, Keel image built in ${((t2 - t1) / 1000).toFixed(0)} s\n`);
      config = (JSON.parse(await buildah(['inspect', '--type', 'image', tag])) as { Docker: { config: typeof config } }).Docker.config;
      container = (await buildah(['from', '--name', `keel-test-${randomBytes(4).toString('hex')}`, tag])).trim();
      rootfs = (await buildah(['mount', container])).trim();
      writeFileSync(marker, '');
      utimesSync(marker, new Date(Date.now() - 2_000), new Date(Date.now() - 2_000));
    }, 1_200_000);

    afterAll(async () => {
      if (container) await buildah(['rm', container]).catch(() => undefined);
      await buildah(['rmi', tag]).catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    }, 120_000);

    it('runs as the unprivileged user, keel start by default, data in a volume, a HEALTHCHECK on /healthz', () => {
      expect(config.User).toBe('10001:10001');
      expect(config.Entrypoint).toEqual(['node', '/app/bin/keel.js']);
      expect(config.Cmd).toEqual(['start']);
      expect(Object.keys(config.Volumes)).toEqual(['/var/lib/keel']);
      expect(config.Env).toEqual(expect.arrayContaining(['KEEL_DATA_DIR=/var/lib/keel', 'NODE_ENV=production']));
      expect(config.Healthcheck.Test.join(' ')).toContain('/healthz');
    });

    it('holds no build tools, no dev dependencies and no TypeScript sources; the app is not writable by keel', async () => {
      const out = await buildah([
        'run',
        '--isolation',
        'chroot',
        container,
        '--',
        'sh',
        '-c',
        'id -u; for t in gcc g++ cc make python3 tsc; do command -v $t; done; ls /app; ls /app/node_modules | grep -xE "typescript|vitest|@typescript" ; touch /app/x 2>/dev/null && echo app-writable; true',
      ]);
      expect(out.trim().split('\n')).toEqual(['10001', 'bin', 'build-info.json', 'dist', 'node_modules', 'package.json']);
    });

    it('keel version names the commit the build was given', async () => {
      const out = await buildah(['run', '--isolation', 'chroot', container, '--', 'node', '/app/bin/keel.js', 'version', '--json']);
      expect(JSON.parse(out)).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), commit, buildDate: '2026-12-04T12:00:00Z' });
    });

    it('Keel starts in the image, answers /healthz and the HEALTHCHECK command, accepts events, and writes only its data dir', async () => {
      const port = await freePort();
      const key = `keel_image_${randomBytes(12).toString('hex')}`;
      const keel = runDetached(container, { KEEL_BOOTSTRAP_KEY: key, KEEL_PORT: String(port), KEEL_HOST: '127.0.0.1' }, ['node', '/app/bin/keel.js', 'start']);
      try {
        const url = `http://127.0.0.1:${port}`;
        await waitReady(url, 120_000, keel);
        const health = await request(`${url}/healthz`);
        expect(await health.body.json()).toMatchObject({ status: 'ok' });
        const sent = await request(`${url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' },
          body: '{"service":"image","status":200}\n',
        });
        expect(sent.statusCode).toBe(202);
        await sent.body.text();
        const check = await run('buildah', [...BUILDAH, 'run', '--isolation', 'chroot', '-e', `KEEL_PORT=${port}`, container, '--', ...config.Healthcheck.Test.slice(1)]).then(
          () => 0,
          (e: { code: number }) => e.code,
        );
        expect(check, 'HEALTHCHECK while Keel is up').toBe(0);
      } finally {
        await stopGroup(keel);
      }
      const down = await run('buildah', [...BUILDAH, 'run', '--isolation', 'chroot', '-e', `KEEL_PORT=${port}`, container, '--', ...config.Healthcheck.Test.slice(1)]).then(
        () => 0,
        (e: { code: number }) => e.code,
      );
      expect(down, 'HEALTHCHECK once Keel is down').not.toBe(0);
      // Read-only root filesystem: Keel wrote nothing into the image's filesystem (its data went
      // to the /var/lib/keel volume; /run is buildah's own, made for every `buildah run`).
      const { stdout } = await run('find', [rootfs, '-xdev', '-newer', marker, '-not', '-path', `${rootfs}/var/lib/keel*`, '-not', '-path', `${rootfs}/tmp*`, '-not', '-path', `${rootfs}/run*`]);
      expect(stdout.trim()).toBe('');
    }, 240_000);

    it('the same image runs a distributed role (keel start --role ingest)', async () => {
      const names = uniqueNames('image');
      const port = await freePort();
      const env = { ...clusterEnv(names), KEEL_PORT: String(port), KEEL_HOST: '127.0.0.1' };
      const ingest = runDetached(container, env, ['node', '/app/bin/keel.js', 'start', '--role', 'ingest']);
      try {
        await waitReady(`http://127.0.0.1:${port}`, 120_000, ingest);
        const ready = await request(`http://127.0.0.1:${port}/readyz`);
        expect(await ready.body.json()).toMatchObject({ status: 'ready', role: 'ingest' });
      } finally {
        await stopGroup(ingest);
        await cleanup(names);
      }
    }, 240_000);
  });
}

/**
 * Releases: `keel version` (from package.json and the build record), semantic versions in
 * package.json and CHANGELOG.md, `keel migrate` on both engines, and the release workflow's shape.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { PG_URL, dropSchema, randomSchema } from '../helpers/stores.js';
import { ROOT } from './support/manifests.js';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$/;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const migrationFiles = readdirSync(join(ROOT, 'src/store/migrations')).filter((f) => /^\d{4}_.+\.ts$/.test(f));

describe('keel version', () => {
  const record = join(ROOT, 'build-info.json');
  afterAll(() => rmSync(record, { force: true }));

  it('says unknown commit and date for a build without a record, and reports the package version', async () => {
    rmSync(record, { force: true });
    const r = await runCli(['version', '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as Record<string, string>;
    expect(info).toEqual({ version: pkg.version, commit: 'unknown', buildDate: 'unknown', node: process.version });
    expect(info.version).toMatch(SEMVER);
  });

  it('reports the commit and build date a release build recorded', async () => {
    execFileSync('node', [join(ROOT, 'scripts/build-info.mjs'), '0123456789abcdef0123456789abcdef01234567', '2026-12-01T10:00:00Z']);
    const json = await runCli(['version', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ commit: '0123456789abcdef0123456789abcdef01234567', buildDate: '2026-12-01T10:00:00Z' });
    const text = await runCli(['version']);
    expect(text.stdout).toBe(`keel ${pkg.version} (commit 0123456789abcdef0123456789abcdef01234567, built 2026-12-01T10:00:00Z, node ${process.version})\n`);
  });

  it('the build record refuses what is not a commit or a time', () => {
    expect(() => execFileSync('node', [join(ROOT, 'scripts/build-info.mjs'), 'not-a-sha'], { stdio: 'pipe' })).toThrow(/usage/);
    expect(() => execFileSync('node', [join(ROOT, 'scripts/build-info.mjs'), 'abcdef1', 'yesterday'], { stdio: 'pipe' })).toThrow(/not an RFC 3339 time/);
  });
});

describe('CHANGELOG and versions', () => {
  const changelog = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8');
  it('every released section is a semantic version with a date and a release commit, newest first', () => {
    const sections = [...changelog.matchAll(/^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?/gm)].map((m) => ({ name: m[1]!, date: m[2] }));
    expect(sections[0]!.name).toBe('Unreleased');
    const released = sections.slice(1);
    expect(released.length).toBeGreaterThan(0);
    for (const s of released) {
      expect(s.name).toMatch(SEMVER);
      expect(s.date).toBeTruthy();
    }
    expect(changelog).toMatch(new RegExp(`## \\[${released[0]!.name.replace(/\./g, '\\.')}\\][^\\n]*\\n\\nRelease commit: [0-9a-f]{40}`));
    // package.json is the latest release or a version after it.
    const [a, b] = [pkg.version, released[0]!.name].map((v) => v.split('.').map(Number));
    expect(a![0]! * 1e6 + a![1]! * 1e3 + a![2]!).toBeGreaterThanOrEqual(b![0]! * 1e6 + b![1]! * 1e3 + b![2]!);
  });
});

describe('keel migrate', () => {
  it('migrates a fresh embedded data dir and exits 0; again is a no-op', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-migrate-'));
    try {
      const first = await runCli(['migrate', '--data-dir', dir, '--json']);
      expect(first.code, first.stderr).toBe(0);
      expect(JSON.parse(first.stdout)).toMatchObject({ store: 'sqlite', migrations: migrationFiles.length });
      expect(existsSync(join(dir, 'state.db'))).toBe(true);
      const again = await runCli(['migrate', '--data-dir', dir]);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('sqlite schema is up to date');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('migrates a PostgreSQL schema: every migration file is recorded', async () => {
    const schema = randomSchema('keel_migrate');
    try {
      const r = await runCli(['migrate', '--postgres', PG_URL, '--json'], { env: { KEEL_POSTGRES_SCHEMA: schema } });
      expect(r.code, r.stderr).toBe(0);
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      const rows = await c.query<{ name: string }>(`SELECT name FROM "${schema}".keel_migrations ORDER BY name`);
      await c.end();
      expect(rows.rows.map((x) => `${x.name}.ts`)).toEqual([...migrationFiles].sort());
    } finally {
      await dropSchema(schema);
    }
  });

  it('an unreachable database or a bad configuration is an error with a non-zero exit', async () => {
    const bad = await runCli(['migrate', '--postgres', 'postgres://nobody@127.0.0.1:1/none']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/error:/);
    const dir = mkdtempSync(join(tmpdir(), 'keel-migrate-'));
    try {
      const conf = join(dir, 'keel.yaml');
      execFileSync('sh', ['-c', `printf 'nats:\\n  partitions: many\\n' > ${conf}`]);
      const invalid = await runCli(['migrate', '--data-dir', dir, '--config', conf]);
      expect(invalid.code).toBe(2);
      expect(invalid.stderr).toContain('nats.partitions');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('release workflow', () => {
  const wf = parse(readFileSync(join(ROOT, '.github/workflows/release.yml'), 'utf8')) as {
    on: { push: { tags: string[] } };
    jobs: Record<string, { needs?: string | string[]; steps: { run?: string; name?: string }[] }>;
  };
  it('runs on version tags, tests before it builds, and publishes only the tested image', () => {
    expect(wf.on.push.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+']);
    expect(wf.jobs.image!.needs).toBe('test');
    const testRuns = wf.jobs.test!.steps.map((s) => s.run ?? '').join('\n');
    expect(testRuns).toContain('npm test');
    expect(testRuns).toContain('require("./package.json").version');
    const imageRuns = wf.jobs.image!.steps.map((s) => s.run ?? '').join('\n');
    expect(imageRuns).toMatch(/bud[\s\S]*-f Containerfile/);
    expect(imageRuns.indexOf('/healthz')).toBeLessThan(imageRuns.indexOf('buildah push'));
  });
});

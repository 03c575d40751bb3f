/**
 * Issue 10 item 18: `npm install` on the supported Node prints no EBADENGINE warning, i.e. every
 * locked package's `engines.node` admits the oldest Node that package.json supports.
 */
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[]; optional?: boolean }> };

describe('dependencies run on the supported Node', () => {
  it('package.json names Node 20 as supported', () => {
    expect(semver.minVersion(pkg.engines.node)?.major).toBe(20);
  });

  it('every installed package (optional platform binaries aside) accepts the oldest supported Node', () => {
    const oldest = semver.minVersion(pkg.engines.node)!.version;
    const refused = Object.entries(lock.packages)
      .filter(([path, p]) => path && !p.optional && p.engines && !Array.isArray(p.engines) && p.engines.node)
      .filter(([, p]) => !semver.satisfies(oldest, (p.engines as { node: string }).node))
      .map(([path, p]) => `${path}@${p.version} wants node ${(p.engines as { node: string }).node}`);
    expect(refused).toEqual([]);
  });

  it('and the Node running the tests is one of them', () => {
    expect(semver.satisfies(process.version, pkg.engines.node)).toBe(true);
  });
});

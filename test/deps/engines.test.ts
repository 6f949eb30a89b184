/**
 * `engines.node` of package.json is what the dependencies need: every package in the lockfile
 * (runtime and dev, since `npm ci` installs both) admits the lowest Node of each line we declare (20.19.0, 22.13.0, 24.0.0)
 * and Node 24, so `npm ci` prints no EBADENGINE warning on any Node we claim to run on.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// semver is already installed (fastify depends on it); loaded untyped through require.
const semver = createRequire(import.meta.url)('semver') as {
  satisfies(version: string, range: string): boolean;
  minVersion(range: string): { version: string } | null;
  validRange(range: string): string | null;
};

interface LockPackage {
  version?: string;
  engines?: { node?: string };
}

const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };

/** The lowest version of each `||` alternative of our range. */
function lowerBounds(range: string): string[] {
  return range.split('||').map((part) => semver.minVersion(part.trim())!.version);
}

describe('engines.node', () => {
  const declared = pkg.engines.node;

  it('is a valid range that admits Node 24 and the lockfile agrees', () => {
    expect(semver.validRange(declared)).not.toBeNull();
    expect(semver.satisfies('24.0.0', declared)).toBe(true);
    expect(lock.packages['']?.engines?.node).toBe(declared);
  });

  it('starts where undici 7 and the test toolchain need (>= 20.19.0 on Node 20)', () => {
    expect(lowerBounds(declared)[0]).toBe('20.19.0');
    expect(semver.satisfies('20.18.1', declared)).toBe(false);
  });

  it('is admitted by every package in the lockfile at each declared minimum and Node 24', () => {
    const versions = [...lowerBounds(declared), '24.0.0'];
    const refused: string[] = [];
    for (const [path, p] of Object.entries(lock.packages)) {
      const range = p.engines?.node;
      if (path === '' || range === undefined) continue;
      for (const v of versions) if (!semver.satisfies(v, range)) refused.push(`${path}@${p.version} (${range}) refuses Node ${v}`);
    }
    expect(refused).toEqual([]);
  });

  it('keeps the light-my-request pin that avoids cookie 2 (engines >=22)', () => {
    const cookies = Object.entries(lock.packages).filter(([path]) => path.endsWith('node_modules/cookie'));
    expect(cookies.length).toBeGreaterThan(0);
    for (const [, p] of cookies) expect(p.version?.startsWith('1.')).toBe(true);
  });
});

/**
 * A fresh clone has nothing beside it: no test, benchmark, script or CI step may read the team's
 * reference folder or any other path outside the repository.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR, FIXTURE_NAMES, fixture } from './support/fixtures.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCANNED = ['src', 'test', 'bench', '.ci', 'deploy', 'package.json', 'vitest.config.ts', 'Dockerfile'];
const SKIP = new Set(['node_modules', 'dist', 'dist-bench', 'out', 'results']);
const SELF = fileURLToPath(import.meta.url);
/** The reference folder's path and the old CI variable naming it (built from parts so this file does not match itself). */
const OUTSIDE = new RegExp(`\\.\\./${'sha' + 'red'}\\b|SWITCHBOARD_${'SHA' + 'RED'}`);

function walk(p: string): string[] {
  const st = statSync(p);
  if (!st.isDirectory()) return [p];
  return readdirSync(p).flatMap((f) => (SKIP.has(f) ? [] : walk(join(p, f))));
}

describe('the repository is self-contained', () => {
  it('reads metrics fixtures from inside the checkout', () => {
    expect(relative(ROOT, FIXTURES_DIR).startsWith('..')).toBe(false);
    for (const name of FIXTURE_NAMES) expect(fixture(name).length).toBeGreaterThan(100);
    const sources = readFileSync(join(FIXTURES_DIR, 'SOURCES.md'), 'utf8');
    for (const name of FIXTURE_NAMES) expect(sources).toContain(name);
  });

  it('no code, test or CI step names the reference folder beside the checkout', () => {
    expect(OUTSIDE.test(`../${'shared'}/fixtures/metrics`) && OUTSIDE.test(`SWITCHBOARD_${'SHARED'}`)).toBe(true);
    const offenders: string[] = [];
    for (const top of SCANNED) {
      for (const file of walk(join(ROOT, top))) {
        if (file === SELF || !/\.(ts|js|mjs|sh|json|ya?ml)$|\/run$|Dockerfile$/.test(file)) continue;
        const text = readFileSync(file, 'utf8');
        if (OUTSIDE.test(text)) offenders.push(relative(ROOT, file));
      }
    }
    expect(offenders).toEqual([]);
  });
});

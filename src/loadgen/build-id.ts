/**
 * A fingerprint of the code this process runs: a hash over every module file of the package's
 * compiled tree (`dist/`, or `src/` when run from source). Virtual-time runs are a function of
 * this code, the scenario, the policy and the seed, so a stored run may stand in for a new one
 * only under the same fingerprint (which also names the V8 version).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

let memo: string | null = null;

/** The fingerprint of the running build (computed once: one read of every module file). */
export function buildId(): string {
  if (memo !== null) return memo;
  const root = fileURLToPath(new URL('..', import.meta.url));
  const hash = createHash('sha256');
  // The engine's math too: a different V8 may round a transcendental function differently.
  hash.update(`v8 ${process.versions.v8}\0`);
  for (const file of moduleFiles(root)) {
    hash.update(relative(root, file));
    hash.update('\0');
    hash.update(readFileSync(file));
  }
  memo = hash.digest('hex').slice(0, 16);
  return memo;
}

/** Module files under `dir`, sorted so the hash does not depend on directory order. */
function moduleFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...moduleFiles(p));
    else if (/\.(js|ts|mjs|json)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

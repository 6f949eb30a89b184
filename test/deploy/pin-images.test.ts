/**
 * scripts/pin-base-images.sh pins every FROM line to the digest a registry answers. No registry
 * is reachable in tests, so a stub `crane` on PATH answers: what is tested is the rewriting
 * (ARG expansion, re-pinning, stage names kept) and the refusal of a bad answer.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = join(ROOT, 'scripts', 'pin-base-images.sh');

function run(dockerfile: string, craneAnswer: string): { code: number; text: string; err: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sb-pin-'));
  const bin = join(dir, 'bin');
  execFileSync('mkdir', ['-p', bin]);
  // The stub answers a digest derived from the image name, or the fixed answer given.
  writeFileSync(join(bin, 'crane'), `#!/usr/bin/env bash\n[ "$1" = digest ] || exit 9\n${craneAnswer}\n`);
  chmodSync(join(bin, 'crane'), 0o755);
  const file = join(dir, 'Dockerfile');
  writeFileSync(file, dockerfile);
  try {
    execFileSync('bash', [SCRIPT, file], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, text: readFileSync(file, 'utf8'), err: '' };
  } catch (e) {
    const err = e as { status: number; stderr: Buffer };
    return { code: err.status, text: readFileSync(file, 'utf8'), err: String(err.stderr) };
  }
}

const DIGEST = 'sha256:' + 'ab'.repeat(32);

describe('scripts/pin-base-images.sh', () => {
  it('pins every FROM, expanding ARG defaults and keeping stage names; re-pins pinned lines', () => {
    const before = ['ARG NODE_VERSION=24', 'FROM node:24-bookworm-slim@sha256:' + '00'.repeat(32) + ' AS deps', 'RUN true', 'FROM gcr.io/distroless/nodejs${NODE_VERSION}-debian12:nonroot', 'USER 65532:65532', ''].join('\n');
    const r = run(before, `echo ${DIGEST}`);
    expect(r.code).toBe(0);
    expect(r.text.split('\n')).toEqual(['ARG NODE_VERSION=24', `FROM node:24-bookworm-slim@${DIGEST} AS deps`, 'RUN true', `FROM gcr.io/distroless/nodejs24-debian12:nonroot@${DIGEST}`, 'USER 65532:65532', '']);
  });

  it('refuses an answer that is not a digest and leaves the file alone', () => {
    const before = 'FROM node:24-bookworm-slim AS deps\n';
    const r = run(before, 'echo "unauthorized: authentication required"');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no digest for node:24-bookworm-slim/);
    expect(r.text).toBe(before);
  });

  it('the shipped Dockerfile pins its build stages', () => {
    const froms = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n').filter((l) => l.startsWith('FROM node:'));
    expect(froms.length).toBe(2);
    for (const l of froms) expect(l).toMatch(/^FROM node:24-bookworm-slim@sha256:[0-9a-f]{64} AS (deps|build)$/);
  });
});

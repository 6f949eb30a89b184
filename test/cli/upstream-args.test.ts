/**
 * Upstream EPP command lines run unchanged: the argument lists of the Go EPP's manifests and Helm
 * charts and of llm-d's router chart (test/fixtures/upstream-args, each naming its source) go
 * through the real CLI's `serve --print-config`, which must exit 0 and report the mapped values.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, repo, runCli } from '../support/cli-process.js';

interface Fixture {
  source: { repo: string; path: string; ref: string; commit: string; note: string };
  args: string[];
  expect: { logLevel: string; logFormat: string; given: Record<string, unknown>; ignored: string[] };
}

const dir = join(repo, 'test/fixtures/upstream-args');
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture] as const);

/** The manifests mount their plugin config from a ConfigMap; a repo file stands in for it. */
function localPaths(args: readonly string[]): string[] {
  return args.map((a) => (/^\/(config|etc\/epp)\/.+\.yaml$/.test(a) ? join(dir, 'plugins.yaml') : a));
}

describe('upstream EPP command lines', () => {
  it('has a fixture for every source the README names, each with its provenance', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(10);
    const sources = new Set(fixtures.map(([, f]) => `${f.source.repo}:${f.source.path}`));
    for (const s of [
      'kubernetes-sigs/gateway-api-inference-extension:config/manifests/inferencepool-resources.yaml',
      'kubernetes-sigs/gateway-api-inference-extension:conformance/resources/base.yaml',
      'kubernetes-sigs/gateway-api-inference-extension:config/charts/inferencepool/templates/epp-deployment.yaml',
      'kubernetes-sigs/gateway-api-inference-extension:config/charts/epplib/templates/_deployment.yaml',
      'llm-d/llm-d-router:config/charts/routerlib/templates/_deployment.yaml',
    ]) {
      expect(sources, s).toContain(s);
    }
    for (const [, f] of fixtures) {
      expect(f.source.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(f.source.ref).not.toBe('');
      expect(f.args.length).toBeGreaterThan(0);
    }
  });

  it.each(fixtures)('%s: serve --print-config exits 0 with the mapped values', async (_name, f) => {
    const r = await runCli(['serve', '--print-config', ...localPaths(f.args)]);
    expect(r.stderr.includes('invalid flag') ? r.stderr : '').toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/EndpointPickerConfig|"plugins"/);
    const lines = jsonLines(r.stderr);
    const effective = lines.find((l) => l.msg === 'effective flags');
    expect(effective).toBeDefined();
    expect(effective).toMatchObject({ logLevel: f.expect.logLevel, logFormat: f.expect.logFormat });
    expect(effective!.given).toMatchObject(f.expect.given);
    const ignored = lines.filter((l) => l.code === 'SB_WARN_FLAG_IGNORED');
    expect(ignored.map((l) => l.flag).sort()).toEqual([...f.expect.ignored].sort());
    for (const l of ignored) expect(String(l.msg)).toMatch(new RegExp(`^flag --${String(l.flag)} is accepted and ignored: .+`));
  });
});

/**
 * Running a benchmark never dirties the tree: results go to the untracked bench/out/ unless the
 * run is asked to publish (`--publish` or BENCH_PUBLISH=1).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { publishing, resultPath, scenarioArgs, writeJson, writeResultsSection } from '../bench/lib/stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('benchmark output', () => {
  it('maps published paths into bench/out unless publishing', () => {
    expect(resultPath('/r/bench/results/proxy.json', false)).toBe('/r/bench/out/results/proxy.json');
    expect(resultPath('/r/bench/RESULTS.md', false)).toBe('/r/bench/out/RESULTS.md');
    expect(resultPath('bench/results/scorecard.json', false)).toBe('bench/out/results/scorecard.json');
    expect(resultPath('bench/RESULTS.md', false)).toBe('bench/out/RESULTS.md');
    expect(resultPath('/r/bench/out/s1/report.html', false)).toBe('/r/bench/out/s1/report.html');
    expect(resultPath('/r/bench/results/proxy.json', true)).toBe('/r/bench/results/proxy.json');
  });

  it('publishes only when asked', () => {
    expect(publishing(['node', 'x.js'], {})).toBe(false);
    expect(publishing(['node', 'x.js', '--publish'], {})).toBe(true);
    expect(publishing(['node', 'x.js'], { BENCH_PUBLISH: '1' })).toBe(true);
    expect(scenarioArgs(['a.yaml', '--publish', '--seeds', '1,2'])).toEqual({ files: ['a.yaml'], seeds: [1, 2] });
  });

  it('leaves the published files untouched and edits a copy of RESULTS.md', () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const repo = mkdtempSync(join(tmpdir(), 'sb-bench-'));
    mkdirSync(join(repo, 'bench', 'results'), { recursive: true });
    const published = '# Results\n\n<!-- bench:x:start -->\nold\n<!-- bench:x:end -->\n\n<!-- bench:y:start -->\nkeep\n<!-- bench:y:end -->\n';
    writeFileSync(join(repo, 'bench', 'RESULTS.md'), published);
    writeFileSync(join(repo, 'bench', 'results', 'x.json'), '{"old":true}\n');
    writeJson(join(repo, 'bench', 'results', 'x.json'), { fresh: true });
    writeResultsSection(join(repo, 'bench', 'RESULTS.md'), 'x', 'new');
    expect(readFileSync(join(repo, 'bench', 'RESULTS.md'), 'utf8')).toBe(published);
    expect(readFileSync(join(repo, 'bench', 'results', 'x.json'), 'utf8')).toBe('{"old":true}\n');
    expect(JSON.parse(readFileSync(join(repo, 'bench', 'out', 'results', 'x.json'), 'utf8'))).toEqual({ fresh: true });
    const copy = readFileSync(join(repo, 'bench', 'out', 'RESULTS.md'), 'utf8');
    expect(copy).toContain('<!-- bench:x:start -->\nnew\n<!-- bench:x:end -->');
    expect(copy).toContain('keep');
  });

  it('bench/out is ignored by git', () => {
    mkdirSync(join(ROOT, 'bench', 'out'), { recursive: true });
    const probe = join(ROOT, 'bench', 'out', 'probe.json');
    writeFileSync(probe, '{}');
    expect(existsSync(probe)).toBe(true);
    expect(execFileSync('git', ['check-ignore', 'bench/out/probe.json'], { cwd: ROOT, encoding: 'utf8' }).trim()).toBe('bench/out/probe.json');
  });
});

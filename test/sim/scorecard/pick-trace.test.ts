/**
 * Pick traces (`switchboard bench --trace-picks`): one line per request in issue order, matching
 * the run's records; director policies explain each pick; tracing does not change the picks.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../../src/workload/scenario.js';
import { runScorecard } from '../../../src/sim/scorecard/runner.js';
import { policyFactory } from '../../../src/sim/scorecard/policies.js';
import { addTail, emptyCensus, mergeCensus, pickTraceFile, renderTail, type PickTraceLine } from '../../../src/sim/scorecard/pick-trace.js';
import { runCli } from '../../support/cli-process.js';

const SCENARIO = `
name: traced
seed: 4
fleet: { pods: 3, engine: { numGpuBlocks: 600, maxLoras: 1 } }
workload:
  sharedPrefix: { groups: 3, systemTokens: 300 }
  input: { uniform: [20, 200] }
  output: { uniform: [4, 40] }
  lora: { adapters: 4, popularity: { zipf: 1 }, baseFraction: 0.4 }
arrivals:
  stages:
    - { name: warm, rate: 10, duration: 1, warmup: true }
    - { name: main, rate: 25, duration: 3 }
drain: 60
`;

const dir = mkdtempSync(join(tmpdir(), 'sb-picks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pick traces', () => {
  it('gives one line per request, in issue order, matching the records; tracing leaves the picks alone', async () => {
    const s = parseScenario(SCENARIO);
    const plain = await runScorecard(s, policyFactory('switchboard'));
    const traced = await runScorecard(s, policyFactory('switchboard'), { tracePicks: true });
    expect(plain.picks).toBeUndefined();
    expect(traced.records.map((r) => [r.id, r.pod, r.firstToken, r.end])).toEqual(plain.records.map((r) => [r.id, r.pod, r.firstToken, r.end]));
    const lines = traced.picks as PickTraceLine[];
    expect(lines).toHaveLength(traced.records.length);
    traced.records.forEach((r, i) => {
      const l = lines[i];
      expect([l.id, l.pod, l.ok, l.prompt, l.output, l.cached]).toEqual([r.id, r.pod, r.ok, r.promptTokens, r.outputTokens, r.cachedTokens]);
      expect(l.ttft).toBeCloseTo(r.firstToken - r.start, 2);
      expect(l.e2e).toBeCloseTo(r.end - r.start, 2);
      expect(l.stage).toBe(r.stage === 0 ? 'warm' : 'main');
    });
    for (const l of lines) {
      const p = l.pick;
      expect(p).toBeDefined();
      if (p === undefined) continue;
      expect(p.candidates).toBeGreaterThanOrEqual(1);
      expect(p.candidates).toBeLessThanOrEqual(3);
      if (p.runnerUp !== null) expect(p.runnerUp === l.pod && !p.belowBest).toBe(false);
      // The decisive term is the largest positive margin.
      if (p.term !== null) expect(p.margins[p.term]).toBe(Math.max(...Object.values(p.margins)));
      expect(Object.keys(p.scores)).toContain('prefix-cache-scorer');
      expect(p.seen.kvUsage).toBeGreaterThanOrEqual(0);
    }
    // Adapter loads land on adapter requests only, and some requests found their adapter resident.
    const adapterLines = lines.filter((l) => l.model.startsWith('adapter-'));
    expect(lines.filter((l) => !l.model.startsWith('adapter-')).every((l) => l.adapterLoadMs === 0)).toBe(true);
    expect(adapterLines.some((l) => l.adapterLoadMs > 0)).toBe(true);
    expect(adapterLines.some((l) => l.adapterLoadMs === 0)).toBe(true);
    // A pick that the prefix moved went to a pod that had the prompt's prefix.
    expect(lines.some((l) => l.pick?.term === 'prefix-cache-scorer' && l.cached > 0)).toBe(true);
  });

  it('has no pick explanation for a baseline policy', async () => {
    const run = await runScorecard(parseScenario(SCENARIO), policyFactory('least-request'), { tracePicks: true });
    expect(run.picks?.length).toBe(run.records.length);
    expect(run.picks?.every((l) => l.pick === undefined && l.pod >= 0)).toBe(true);
  });

  it('counts what the worst first tokens had in common, per measured stage and run', () => {
    const pick = (term: string | null, pendingPrefill: number, filtered: Record<string, number>, belowBest: boolean): PickTraceLine['pick'] => ({
      term,
      runnerUp: 1,
      margins: {},
      filtered,
      spilledBy: null,
      allowedBy: null,
      belowBest,
      fallback: null,
      candidates: 2,
      scores: {},
      seen: { waiting: 0, running: 0, kvUsage: 0, inflight: 0, pendingPrefill, tpotMs: 0, ttftMs: 0 },
    });
    const line = (i: number, stage: string, ttft: number | null, cached: number, extra: Partial<PickTraceLine> = {}): PickTraceLine => ({
      id: `r${i}`,
      stage,
      start: i,
      pod: 0,
      model: 'm',
      group: -1,
      session: -1,
      turn: -1,
      prompt: 100,
      cached,
      output: 5,
      ttft,
      e2e: 1000,
      ok: ttft !== null,
      error: null,
      adapterLoadMs: 0,
      ...extra,
    });
    // 300 measured requests: the worst 1% are the three slowest; the warm-up's slower one and a failure do not count.
    const lines = Array.from({ length: 300 }, (_, i) => line(i, 'main', 10 + (i % 50), 100, { pick: pick('queue-scorer', 0, {}, false) }));
    lines.push(line(300, 'warm', 9_000, 0));
    lines.push(line(301, 'main', null, 0));
    lines.push(line(302, 'main', 500, 0, { adapterLoadMs: 300, pick: pick(null, 2_000, { 'decode-headroom-filter': 3 }, true) }));
    lines.push(line(303, 'main', 400, 80, { pick: pick('prefix-cache-scorer', 0, {}, false) }));
    lines.push(line(304, 'main', 300, 10, { pick: pick('prefix-cache-scorer', 100, {}, false) }));
    const c = addTail(emptyCensus(), lines, (st) => st === 'main');
    expect(c).toEqual({ runs: 1, requests: 4, uncached: 2, pendingPrefill: 2, filtered: 1, belowBest: 1, adapterLoads: 1, terms: { none: 1, 'prefix-cache-scorer': 2, 'queue-scorer': 1 } });
    // Runs add up; a run with nothing measured adds nothing.
    addTail(c, lines.slice(0, 10), (st) => st === 'main');
    expect(c.runs).toBe(2);
    expect(c.requests).toBe(5);
    expect(addTail(emptyCensus(), lines, () => false)).toEqual(emptyCensus());
    // Censuses of separate runs (worker threads) merge into the same sums.
    const twice = mergeCensus(mergeCensus(emptyCensus(), c), c);
    expect(twice).toMatchObject({ runs: 4, requests: 10, uncached: 4, adapterLoads: 2, terms: { none: 2, 'prefix-cache-scorer': 4, 'queue-scorer': 4 } });
    expect(renderTail('p', c)).toBe('  p: 5 requests over 2 run(s), 40% mostly uncached, 20% adapter loads, 40% behind own pending prefill, 20% after a filter dropped pods, 20% near ties, moved by prefix-cache-scorer 2, queue-scorer 2, none 1');
    expect(renderTail('lr', addTail(emptyCensus(), [line(0, 'main', 5, 0)], () => true))).toBe('  lr: 1 requests over 1 run(s), 100% mostly uncached, 0% adapter loads');
  });

  it('names trace files by scenario, policy and seed, file-safe', () => {
    expect(pickTraceFile('out', 'default-049', 'switchboard×2', 3)).toBe(join('out', 'default-049', 'switchboard×2.seed-3.jsonl'));
    expect(pickTraceFile('out', 'a/b', 'x y', 1)).toBe(join('out', 'a_b', 'x_y.seed-1.jsonl'));
  });

  it('writes a JSONL file per run from the CLI (a real process)', async () => {
    const file = join(dir, 'traced.yaml');
    writeFileSync(file, SCENARIO);
    const out = join(dir, 'out');
    const r = await runCli(['bench', '--scenario', file, '--seeds', '1,2', '--policies', 'least-request,switchboard', '--trace-picks', '--out', out, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`pick traces under ${join(out, 'picks')}`);
    // The tail census: one line per policy, the director's with the terms that moved its picks.
    expect(r.stdout).toMatch(/least-request: \d+ requests over 2 run\(s\), \d+% mostly uncached, \d+% adapter loads\n/);
    expect(r.stdout).toMatch(/switchboard: \d+ requests over 2 run\(s\), .*behind own pending prefill.*moved by /);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { runs: Array<{ policy: string; seed: number }> };
    expect(report.runs).toHaveLength(4);
    for (const run of report.runs) {
      const text = readFileSync(pickTraceFile(join(out, 'picks'), 'traced', run.policy, run.seed), 'utf8');
      const lines = text.trim().split('\n').map((l) => JSON.parse(l) as PickTraceLine);
      expect(lines.length).toBeGreaterThan(50);
      expect(new Set(lines.map((l) => l.id)).size).toBe(lines.length);
      expect(lines.every((l) => (l.pick !== undefined) === (run.policy === 'switchboard'))).toBe(true);
    }
  }, 60_000);
});

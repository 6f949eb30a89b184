import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../../src/workload/scenario.js';
import { runScorecard } from '../../../src/sim/scorecard/runner.js';
import { leastRequest, randomRouter, roundRobin, type Router } from '../../../src/sim/scorecard/router.js';

const SCENARIO = `
name: small
seed: 9
fleet: { pods: 3, engine: { numGpuBlocks: 600, maxLoras: 1 } }
workload:
  sharedPrefix: { groups: 4, systemTokens: 400 }
  input: { uniform: [20, 200] }
  output: { uniform: [4, 40] }
  lora: { adapters: 3, popularity: { zipf: 1 }, baseFraction: 0.5 }
arrivals:
  process: gamma
  burstiness: 0.5
  stages:
    - { rate: 10, duration: 2, warmup: true }
    - { rate: 30, duration: 4 }
drain: 60
`;

describe('virtual-time scorecard runner', () => {
  it('runs every request to completion on the chosen pods and counts engine work per stage', async () => {
    const s = parseScenario(SCENARIO);
    const run = await runScorecard(s, () => roundRobin(3));
    expect(run.records.length).toBeGreaterThan(60);
    expect(run.records.every((r) => r.ok)).toBe(true);
    expect(run.records.map((r) => r.pod).slice(0, 6)).toEqual([0, 1, 2, 0, 1, 2]);
    for (const r of run.records) {
      expect(r.end).toBeGreaterThanOrEqual(r.lastToken);
      expect(r.firstToken).toBeGreaterThan(r.start);
      expect(r.itl.length).toBe(r.outputTokens - 1);
      expect(r.cachedTokens).toBeGreaterThanOrEqual(0);
    }
    expect(run.stageCounters).toHaveLength(2);
    expect(run.stageCounters[1].prefixHits).toBeGreaterThan(0);
    expect(run.stageCounters[0].loraLoads + run.stageCounters[1].loraLoads).toBeGreaterThan(0);
  });

  it('is deterministic per seed and differs across seeds', async () => {
    const s = parseScenario(SCENARIO);
    const key = (rs: Awaited<ReturnType<typeof runScorecard>>) => rs.records.map((r) => [r.id, r.pod, r.firstToken, r.end]);
    const a = await runScorecard(s, () => randomRouter(3, 1));
    const b = await runScorecard(s, () => randomRouter(3, 1));
    expect(key(a)).toEqual(key(b));
    const c = await runScorecard(s, () => randomRouter(3, 1), { seed: 10 });
    expect(key(c)).not.toEqual(key(a));
  });

  it('balances in-flight requests with least-request', async () => {
    const s = parseScenario(SCENARIO);
    const run = await runScorecard(s, () => leastRequest(3, 1));
    const perPod = [0, 1, 2].map((p) => run.records.filter((r) => r.pod === p).length);
    expect(Math.min(...perPod)).toBeGreaterThan(0.2 * run.records.length);
  });

  it('supports async routers, rejections and scrape hooks', async () => {
    const s = parseScenario(SCENARIO);
    let scrapes = 0;
    let n = 0;
    const router: Router = {
      name: 'async',
      route: async (input) => {
        expect(JSON.parse(input.body.toString()).stream).toBe(true);
        return ++n % 5 === 0 ? { kind: 'reject', status: 429, error: 'busy' } : { kind: 'route', pod: n % 3, done: null };
      },
      onScrape: (pod, state) => {
        expect(pod).toBeLessThan(3);
        expect(state.numGpuBlocks).toBe(600);
        scrapes++;
      },
    };
    const run = await runScorecard(s, () => router);
    const rejected = run.records.filter((r) => !r.ok);
    expect(rejected.length).toBe(Math.floor(run.records.length / 5));
    expect(rejected.every((r) => r.error === 'reject_429')).toBe(true);
    // Scrapes every 50 ms for ~6 s on 3 pods.
    expect(scrapes).toBeGreaterThan(300);
  });

  it('runs multi-turn sessions whose later turns hit the prefix cache', async () => {
    const s = parseScenario(`
name: sessions
fleet: { pods: 2 }
workload:
  api: chat
  input: 200
  output: 30
  sessions: { turns: 4, followUp: 20, thinkTimeS: { exponential: { mean: 0.5 } } }
arrivals: { process: poisson, stages: [ { rate: 5, duration: 5 } ] }
`);
    const run = await runScorecard(s, () => roundRobin(2));
    const later = run.records.filter((r) => r.turn > 0);
    expect(later.length).toBeGreaterThan(10);
    // Round-robin moves sessions across pods, so only some turns land where their context is.
    const sticky = later.filter((r) => {
      const prev = run.records.find((p) => p.session === r.session && p.turn === r.turn - 1);
      return prev !== undefined && prev.pod === r.pod;
    });
    expect(sticky.length).toBeGreaterThan(0);
    for (const r of sticky) expect(r.cachedTokens / r.promptTokens).toBeGreaterThan(0.8);
  });
});

describe('mixed fleets', () => {
  it('runs each pod on its own profile: the L4 pods decode slower than the H100 pods', async () => {
    const s = parseScenario(`
name: mixed
seed: 4
fleet: { mix: [ { pods: 2 }, { pods: 2, profile: llama-3.1-8b-l4 } ] }
workload: { input: 200, output: 20 }
arrivals: { stages: [ { rate: 8, duration: 3 } ] }
`);
    const run = await runScorecard(s, () => roundRobin(4));
    const tpot = (pods: number[]) => {
      const rs = run.records.filter((r) => r.ok && pods.includes(r.pod));
      return rs.reduce((a, r) => a + (r.lastToken - r.firstToken) / (r.outputTokens - 1), 0) / rs.length;
    };
    expect(run.records.every((r) => r.ok)).toBe(true);
    // L4 steps cost at least c0 = 58 ms; H100 steps about 6 ms at this load.
    expect(tpot([2, 3])).toBeGreaterThan(50);
    expect(tpot([0, 1])).toBeLessThan(20);
  });
});

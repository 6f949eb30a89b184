/**
 * Heterogeneous fleets in the scorecard: `fleet.mix` groups name their pool (and engine
 * profile), and a config with `pools:` runs the multi-pool director over them (each config pool
 * gets the fleet pool of its name). Under load above the preferred pool's capacity, spillover
 * moves the excess to the second pool and keeps the rest in the first.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { configPolicy } from '../../../src/sim/scorecard/director-router.js';
import { policyFactory } from '../../../src/sim/scorecard/policies.js';
import { runScorecard } from '../../../src/sim/scorecard/runner.js';
import { summarize } from '../../../src/workload/metrics.js';
import { parseScenario, podPools } from '../../../src/workload/scenario.js';

const SCENARIO = parseScenario(`
name: pools-surge
seed: 3
fleet:
  mix:
    - { pool: small, pods: 2, profile: llama-3.1-8b-l4 }
    - { pool: big, pods: 1, profile: llama-3.1-8b-h100 }
workload:
  input: { uniform: [100, 300] }
  output: { uniform: [20, 60] }
arrivals: { process: poisson, stages: [ { rate: 2, duration: 2, warmup: true }, { rate: 30, duration: 4 } ] }
drain: 30
`);

const POOLS = `
pools:
- { name: small, endpoints: [], attributes: { costRank: 0 } }
- { name: big, endpoints: [], attributes: { costRank: 1 } }
`;

describe('heterogeneous fleets', () => {
  it('numbers pods pool by pool with their own profiles', () => {
    expect(podPools(SCENARIO.fleet)).toEqual(['small', 'small', 'big']);
    expect(SCENARIO.fleet.podProfiles.map((p) => p.name)).toEqual(['llama-3.1-8b-l4', 'llama-3.1-8b-l4', 'llama-3.1-8b-h100']);
    expect(SCENARIO.fleet.pods).toBe(3);
    expect(() => parseScenario('name: x\nfleet: { mix: [{ pods: 1, pool: a }, { pods: 1 }] }\nworkload: { input: 1, output: 1 }\narrivals: { stages: [{ rate: 1, duration: 1 }] }\n')).toThrow(
      /fleet.mix: name a pool in every group or in none/,
    );
  });

  it('spills the excess over the preferred pool to the next one, and only the excess', async () => {
    const spill = await runScorecard(SCENARIO, configPolicy('spillover', () => parseConfig(POOLS)));
    const measured = spill.records.filter((r) => r.stage === 1 && r.ok);
    const inSmall = measured.filter((r) => r.pod < 2).length;
    // Both pools serve: the small one up to its headroom, the big one the rest.
    expect(inSmall).toBeGreaterThan(0);
    expect(measured.length - inSmall).toBeGreaterThan(0);
    // The warm-up (well under the small pool's capacity) stays in the preferred pool.
    expect(spill.records.filter((r) => r.stage === 0).every((r) => r.pod < 2)).toBe(true);

    const only = await runScorecard(SCENARIO, configPolicy('primary-only', () => parseConfig('pools:\n- { name: small, endpoints: [] }\n')));
    expect(only.records.every((r) => r.pod < 2)).toBe(true);
    const p90 = (run: typeof spill) => summarize(run.records.filter((r) => r.stage === 1)).ttft?.p90 ?? Infinity;
    expect(p90(spill)).toBeLessThan(p90(only));
  });

  it('refuses a pools config on a one-pool fleet, and a pool the fleet lacks', async () => {
    const flat = parseScenario('name: flat\nfleet: { pods: 2 }\nworkload: { input: 10, output: 2 }\narrivals: { stages: [{ rate: 1, duration: 1 }] }\n');
    await expect(runScorecard(flat, configPolicy('p', () => parseConfig(POOLS)))).rejects.toThrow(/needs a fleet whose mix groups name pools/);
    await expect(runScorecard(SCENARIO, configPolicy('p', () => parseConfig('pools:\n- { name: other, endpoints: [] }\n')))).rejects.toThrow(/pool "other" has no pods in the fleet/);
    // Baselines and flat policies run over every pod of a heterogeneous fleet.
    const rr = await runScorecard(SCENARIO, policyFactory('round-robin'));
    expect(new Set(rr.records.map((r) => r.pod))).toEqual(new Set([0, 1, 2]));
  });
});

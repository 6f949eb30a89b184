/** The scorecard's `switchboard-precise` policy: the real precise scorer fed by the simulated engines' KV events in virtual time. */
import { describe, expect, it } from 'vitest';
import { policyFactory } from '../../../src/sim/scorecard/policies.js';
import type { Router, RouterFactory } from '../../../src/sim/scorecard/router.js';
import { runScorecard } from '../../../src/sim/scorecard/runner.js';
import { summarize } from '../../../src/workload/metrics.js';
import { parseScenario } from '../../../src/workload/scenario.js';

const SHARED = parseScenario(`
name: precise-shared-prefix
seed: 3
fleet: { pods: 4, engine: { numGpuBlocks: 300 } }
workload:
  sharedPrefix: { groups: 16, systemTokens: 1000 }
  input: { uniform: [50, 150] }
  output: 16
arrivals: { process: poisson, stages: [ { rate: 20, duration: 1, warmup: true }, { rate: 40, duration: 3 } ] }
`);

/** The policy's factory, recording the sequence numbers each pod's events arrive with, and when. */
function recording(name: string, seen: Array<{ pod: number; seq: number; at: number }>, clock: { now(): number }[]): RouterFactory {
  return async (ctx) => {
    clock.push(ctx.clock);
    const r = (await policyFactory(name)(ctx)) as Router;
    const inner = r.onKvEvents?.bind(r);
    return {
      ...r,
      name: r.name,
      route: r.route.bind(r),
      onKvEvents: (pod: number, seq: number, payload: Uint8Array) => {
        seen.push({ pod, seq, at: ctx.clock.now() });
        inner?.(pod, seq, payload);
      },
    };
  };
}

describe('switchboard-precise in the scorecard', () => {
  it('receives every pod\'s events in sequence and keeps shared prefixes together', async () => {
    const seen: Array<{ pod: number; seq: number; at: number }> = [];
    const run = await runScorecard(SHARED, recording('switchboard-precise', seen, []));
    const rr = await runScorecard(SHARED, policyFactory('round-robin'));
    expect(run.records.every((r) => r.ok)).toBe(true);
    for (let pod = 0; pod < 4; pod++) {
      const seqs = seen.filter((e) => e.pod === pod).map((e) => e.seq);
      expect(seqs.length).toBeGreaterThan(0);
      expect(seqs).toEqual(seqs.map((_, i) => i)); // no loss by default: 0, 1, 2, ...
    }
    const hit = (r: typeof run) => summarize(r.records.filter((x) => x.stage === 1)).prefixHitRate as number;
    expect(hit(run)).toBeGreaterThan(hit(rr) + 0.2);
  });

  it('models delivery loss as sequence gaps, deterministically for a seed', async () => {
    const a: Array<{ pod: number; seq: number; at: number }> = [];
    const b: Array<{ pod: number; seq: number; at: number }> = [];
    const ra = await runScorecard(SHARED, recording('switchboard-precise', a, []), { kvEvents: { loss: 0.3, delayMs: 20 } });
    const rb = await runScorecard(SHARED, recording('switchboard-precise', b, []), { kvEvents: { loss: 0.3, delayMs: 20 } });
    const pod0 = a.filter((e) => e.pod === 0).map((e) => e.seq);
    const missing = pod0[pod0.length - 1] + 1 - pod0.length;
    expect(missing / (pod0[pod0.length - 1] + 1)).toBeGreaterThan(0.15);
    expect(missing / (pod0[pod0.length - 1] + 1)).toBeLessThan(0.45);
    expect(ra.records.every((r) => r.ok)).toBe(true);
    expect(a).toEqual(b);
    expect(ra.records.map((r) => r.pod)).toEqual(rb.records.map((r) => r.pod));
  });
});

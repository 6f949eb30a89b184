import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../../src/workload/scenario.js';
import { configPolicy } from '../../../src/sim/scorecard/director-router.js';
import { replicated } from '../../../src/sim/scorecard/replicas.js';
import type { Router, RouterContext } from '../../../src/sim/scorecard/router.js';
import { runScorecard } from '../../../src/sim/scorecard/runner.js';
import { parseConfig } from '../../../src/config/load.js';

const CTX: RouterContext = { pods: 3, seed: 5, clock: { now: () => 0 }, scrapeIntervalMs: 50 };

describe('replicated routers', () => {
  it('is the factory itself for one replica', () => {
    const f = () => ({ name: 'x', route: () => ({ kind: 'route' as const, pod: 0, done: null }) });
    expect(replicated(f, 1)).toBe(f);
  });

  it('builds N routers with distinct seeds, spreads requests round-robin and every scrape to all', async () => {
    const built: Array<{ seed: number; routed: number; scrapes: number; started: number; closed: boolean }> = [];
    const factory = (ctx: RouterContext): Router => {
      const me = { seed: ctx.seed, routed: 0, scrapes: 0, started: 0, closed: false };
      built.push(me);
      return {
        name: 'probe',
        route: () => {
          me.routed++;
          return { kind: 'route', pod: built.indexOf(me), done: null };
        },
        onScrape: () => void me.scrapes++,
        onScrapeStarted: () => void me.started++,
        close: () => void (me.closed = true),
      };
    };
    const r = await replicated(factory, 3)(CTX);
    expect(r.name).toBe('probe×3');
    expect(new Set(built.map((b) => b.seed)).size).toBe(3);
    expect(built[0].seed).toBe(CTX.seed);
    const pods = [];
    for (let i = 0; i < 7; i++) pods.push((r.route({} as never) as { pod: number }).pod);
    expect(pods).toEqual([0, 1, 2, 0, 1, 2, 0]);
    r.onScrapeStarted!(1, 0);
    r.onScrape!(1, {} as never, 0);
    expect(built.map((b) => [b.started, b.scrapes])).toEqual([
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
    await r.close!();
    expect(built.every((b) => b.closed)).toBe(true);
  });

  it('runs a scenario through N independent Switchboard cores', async () => {
    const s = parseScenario(`
name: tiny
seed: 3
fleet: { pods: 3 }
workload:
  sharedPrefix: { groups: 2, systemTokens: 300 }
  input: { uniform: [20, 100] }
  output: { uniform: [4, 20] }
arrivals:
  stages:
    - { rate: 20, duration: 2 }
drain: 30
`);
    const cfg = () => parseConfig('apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: round-robin-picker\n');
    // Each core round-robins on its own: two cores interleaved send the first four requests to pods 0, 0, 1, 1.
    const run = await runScorecard(s, replicated(configPolicy('rr', cfg), 2));
    expect(run.policy).toBe('rr×2');
    expect(run.records.every((r) => r.ok)).toBe(true);
    expect(run.records.slice(0, 4).map((r) => r.pod)).toEqual([0, 0, 1, 1]);
  });
});

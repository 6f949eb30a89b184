/**
 * The planner's searches: on a tiny scenario the bisection finds the same fleet and (within its
 * tolerance) the same load as the brute-force sweep with fewer probes; the boundary confirmation
 * never keeps a size or load that another seed fails; the HPA targets are the gauges at the
 * boundary less the headroom.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { hpaManifest, recommendHpa } from '../../../src/sim/planner/hpa.js';
import { runPlan, type PlanOptions } from '../../../src/sim/planner/plan.js';
import type { ProbeResult } from '../../../src/sim/planner/probe.js';
import { highestLoad, Prober, smallestFleet, type SearchOptions } from '../../../src/sim/planner/search.js';
import { parseSloSpec } from '../../../src/sim/planner/slo-spec.js';
import { policyFactory } from '../../../src/sim/scorecard/policies.js';
import { parseScenario } from '../../../src/workload/scenario.js';

const TINY = parseScenario(readFileSync(new URL('../../fixtures/plan/tiny.yaml', import.meta.url), 'utf8'));

const OPTS: PlanOptions = {
  slo: parseSloSpec('ttft-p90=400ms,ntpot-p90=90ms'),
  policies: ['least-request', 'round-robin'],
  maxPods: 6,
  tolerance: 0.1,
  seed: 5,
  confirmSeeds: [6],
  maxFactor: 8,
  headroom: 0.2,
  pool: 'pool-a',
  deployment: 'vllm-a',
  flavor: 'prometheus-adapter',
  bruteForce: true,
};

describe('plan on a tiny scenario', () => {
  it('bisection agrees with the brute-force sweep, with fewer probes; boundaries pass and the step above fails', async () => {
    const r = await runPlan(TINY, OPTS);
    expect(r.plans.map((p) => p.policy)).toEqual(OPTS.policies);
    for (const p of r.plans) {
      const s = r.sweeps.find((x) => x.policy === p.policy)!;
      expect(p.pods, p.policy).not.toBeNull();
      // Same seed, same answers: the bisection's fleet is the sweep's; confirmation only adds.
      expect(p.searchedPods).toBe(s.pods);
      expect(p.pods!).toBeGreaterThanOrEqual(p.searchedPods!);
      expect(s.loadPods).toBe(p.pods);
      expect(p.maxFactor).not.toBeNull();
      // Bisection stops within the tolerance; the sweep's grid step is the tolerance too.
      expect(Math.abs(p.searchedFactor! - s.maxFactor!)).toBeLessThanOrEqual(OPTS.tolerance * Math.max(p.searchedFactor!, s.maxFactor!) + OPTS.tolerance + 1e-9);
      expect(p.maxFactor!).toBeLessThanOrEqual(p.searchedFactor!);
      expect(p.probes.length).toBeLessThan(s.probes.length);
      // The fleet passes with both seeds, one pod fewer fails.
      const at = (pods: number, f: number, seed: number) => p.probes.find((x) => x.pods === pods && x.factor === f && x.seed === seed);
      expect(at(p.pods!, 1, 5)?.pass).toBe(true);
      expect(at(p.pods!, 1, 6)?.pass).toBe(true);
      if (p.pods! > 1) expect(at(p.pods! - 1, 1, 5)?.pass).toBe(false);
      expect(p.boundary?.pass).toBe(true);
      expect(p.breaking?.pass).toBe(false);
      expect(p.breaking!.factor).toBeGreaterThan(p.maxFactor!);
      expect(p.maxRatePerPod).toBeCloseTo(p.boundary!.ratePerPod, 9);
    }
    expect(r.recommended?.policy).toBe(r.plans.reduce((a, b) => (b.pods! < a.pods! || (b.pods === a.pods && b.maxRatePerPod! > a.maxRatePerPod!) ? b : a)).policy);
  });

  it('writes an autoscaling/v2 HPA on the pool gauges at the boundary less the headroom', async () => {
    const r = await runPlan(TINY, { ...OPTS, policies: ['least-request'], bruteForce: false });
    const p = r.plans[0];
    const rec = r.recommended!;
    expect(rec.minReplicas).toBe(p.pods);
    expect(rec.maxReplicas).toBe(OPTS.maxPods);
    const doc = parseYaml(r.manifest!) as Record<string, any>;
    expect(doc.apiVersion).toBe('autoscaling/v2');
    expect(doc.kind).toBe('HorizontalPodAutoscaler');
    expect(doc.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'vllm-a' });
    const targets = Object.fromEntries(doc.spec.metrics.map((m: any) => [m.external.metric.name, Number(m.external.target.value)]));
    for (const m of doc.spec.metrics) expect(m.external.metric.selector.matchLabels).toEqual({ name: 'pool-a' });
    if (p.queueAtBoundary! >= 0.1) expect(targets.inference_pool_average_queue_size).toBeCloseTo(p.queueAtBoundary! * 0.8, 2);
    expect(targets.inference_pool_average_kv_cache_utilization).toBeCloseTo(p.kvAtBoundary! * 0.8, 2);
    const gke = parseYaml(hpaManifest(rec, { pool: 'pool-a', deployment: 'vllm-a', flavor: 'gke', scenario: 's', slo: 'x' })!) as Record<string, any>;
    expect(gke.spec.metrics.map((m: any) => m.external.metric.name)).toContain('prometheus.googleapis.com|inference_pool_average_kv_cache_utilization|gauge');
    expect(gke.spec.metrics[0].external.metric.selector.matchLabels).toEqual({ 'metric.labels.name': 'pool-a', reducer: 'REDUCE_MAX' });
  });

  it('no HPA when no gauge rises before the SLO breaks', () => {
    const rec = recommendHpa({ policy: 'x', pods: 2, podsConfirmed: true, searchedPods: 2, searchedFactor: 1, maxFactor: 1, maxRatePerPod: 1, bounded: true, factorConfirmed: true, boundary: null, breaking: null, queueAtBoundary: 0, kvAtBoundary: 0.01, probes: [], wallMs: 0 }, 0.2, 8);
    expect(rec.queueTarget).toBeNull();
    expect(rec.kvTarget).toBeNull();
    expect(hpaManifest(rec, { pool: 'p', deployment: 'd', flavor: 'gke', scenario: 's', slo: 'x' })).toBeNull();
  });
});

/** A prober whose verdicts come from a table instead of the simulator (noise on demand). */
class TableProber extends Prober {
  constructor(
    private readonly passes: (pods: number, factor: number, seed: number) => boolean,
    o: SearchOptions,
  ) {
    super(TINY, 'table', policyFactory('round-robin'), o);
  }

  override async probe(pods: number, factor: number, seed = 1): Promise<ProbeResult> {
    const p: ProbeResult = { policy: 'table', pods, factor, ratePerPod: factor / pods, seed, pass: this.passes(pods, factor, seed), values: [], successRate: 1, requests: 1, avgQueue: 0, avgKv: 0, wallMs: 0 };
    this.probes.push(p);
    return p;
  }
}

const SEARCH: SearchOptions = { slo: OPTS.slo, maxPods: 16, tolerance: 0.05, seed: 1, confirmSeeds: [2], maxFactor: 64 };

describe('noise handling', () => {
  it('a fleet size only the search seed passes grows until the confirmation seed passes too', async () => {
    const p = new TableProber((pods, _f, seed) => pods >= (seed === 1 ? 5 : 7), SEARCH);
    expect(await smallestFleet(p, 2, SEARCH)).toEqual({ pods: 7, confirmed: true, searched: 5 });
  });

  it('a load only the search seed meets steps down until the confirmation seed meets it too', async () => {
    const p = new TableProber((_p, f, seed) => f <= (seed === 1 ? 3.0 : 2.7), SEARCH);
    const r = await highestLoad(p, 4, SEARCH);
    expect(r.confirmed).toBe(true);
    expect(r.factor).toBeLessThanOrEqual(2.7);
    expect(r.factor).toBeGreaterThan(2.7 * (1 - SEARCH.tolerance) ** 3);
  });

  it('a failing blip below the boundary makes the answer conservative, never above the boundary', async () => {
    // 3.0 (a bisection point) fails by noise; everything else up to 3.1 passes.
    const p = new TableProber((_p, f) => f <= 3.1 && f !== 3, SEARCH);
    const r = await highestLoad(p, 4, SEARCH);
    expect(r.confirmed).toBe(true);
    expect(r.factor!).toBeLessThan(3);
    expect(r.factor!).toBeGreaterThanOrEqual(3 * (1 - SEARCH.tolerance));
    expect(r.breaking).toBe(3);
    expect(p.probes.every((x) => x.factor <= 3.1 || !x.pass)).toBe(true);
  });

  it('a fleet that never passes, and a load that passes at the ceiling, are reported as such', async () => {
    const never = new TableProber(() => false, SEARCH);
    expect(await smallestFleet(never, 2, SEARCH)).toEqual({ pods: null, confirmed: false, searched: null });
    expect((await highestLoad(never, 16, SEARCH)).factor).toBeNull();
    const always = new TableProber(() => true, SEARCH);
    expect(await smallestFleet(always, 4, SEARCH)).toEqual({ pods: 1, confirmed: true, searched: 1 });
    expect(await highestLoad(always, 1, SEARCH)).toMatchObject({ factor: 64, bounded: false });
  });
});

/**
 * Tenants in the scorecard: scenario tenants send their own headers, the environment's
 * objectives reach every director policy, and flow control runs on the virtual clock (its TTLs
 * and re-checks are virtual timers), all through the real director.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarize, type RequestRecord } from '../../../src/workload/metrics.js';
import { buildRunReport } from '../../../src/loadgen/report.js';
import { parseScenario } from '../../../src/workload/scenario.js';
import { WorkloadGenerator } from '../../../src/workload/workload.js';
import { configFilePolicy } from '../../../src/sim/scorecard/director-router.js';
import { policyFactory } from '../../../src/sim/scorecard/policies.js';
import { runScorecard } from '../../../src/sim/scorecard/runner.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-tenants-'));
writeFileSync(
  join(dir, 'fc.yaml'),
  `featureGates: [flowControl]
plugins:
- type: queue-scorer
- type: concurrency-detector
  parameters: {maxConcurrency: 4}
saturationDetector: {pluginRef: concurrency-detector}
flowControl:
  defaultRequestTTL: 2s
  priorityBands: [{priority: 0, fairnessPolicyRef: round-robin-fairness-policy}]
`,
);
const SCENARIO = `
name: tenants
seed: 4
fleet: { pods: 2, engine: { numGpuBlocks: 2000, maxNumSeqs: 4 } }
workload:
  input: { uniform: [100, 300] }
  output: { uniform: [40, 80] }
  tenants:
    - { name: vip, weight: 1, headers: { X-Gateway-Inference-Objective: vip, x-gateway-inference-fairness-id: vip } }
    - { name: quiet, weight: 1, headers: { x-gateway-inference-fairness-id: quiet } }
    - { name: noisy, weight: 4, headers: { x-gateway-inference-fairness-id: noisy } }
    - { name: batch, weight: 1, headers: { x-gateway-inference-objective: batch }, output: 8 }
objectives: [{ name: vip, priority: 10 }, { name: batch, priority: -1 }]
arrivals: { process: poisson, stages: [ { rate: 120, duration: 4 } ] }
drain: 30
configs: { fc: fc.yaml }
`;
const scenario = parseScenario(SCENARIO, join(dir, 'tenants.yaml'));

const byTenant = (records: RequestRecord[], t: string) => records.filter((r) => r.tenant === t);

describe('scenario tenants', () => {
  it('parses tenants, objectives and config paths relative to the scenario file', () => {
    expect(scenario.workload.tenants?.map((t) => [t.name, t.weight, t.headers['x-gateway-inference-objective'] ?? null])).toEqual([
      ['vip', 1, 'vip'],
      ['quiet', 1, null],
      ['noisy', 4, null],
      ['batch', 1, 'batch'],
    ]);
    expect(scenario.objectives).toEqual([
      { name: 'vip', priority: 10 },
      { name: 'batch', priority: -1 },
    ]);
    expect(scenario.configs).toEqual([{ name: 'fc', path: join(dir, 'fc.yaml') }]);
    expect(() => parseScenario(SCENARIO.replace('name: quiet', 'name: vip'))).toThrow(/workload\.tenants\[1\]\.name: duplicate tenant "vip"/);
    expect(() => parseScenario(SCENARIO.replace('weight: 4,', 'weight: 4, rate: 3,'))).toThrow(/workload\.tenants\[2\]\.rate: unknown field/);
  });

  it('assigns tenants by weight, deterministically, with their headers and length overrides', () => {
    const gen = new WorkloadGenerator(scenario, 'base');
    const reqs = Array.from({ length: 700 }, (_, i) => gen.first({ index: i, at: i, stage: 0 }).request);
    const count = (t: string) => reqs.filter((r) => r.tenant === t).length;
    expect(count('noisy')).toBeGreaterThan(3 * count('quiet'));
    expect(reqs.filter((r) => r.tenant === 'batch').every((r) => r.maxTokens === 8 && r.headers?.['x-gateway-inference-objective'] === 'batch')).toBe(true);
    const again = new WorkloadGenerator(scenario, 'base');
    expect(Array.from({ length: 50 }, (_, i) => again.first({ index: i, at: i, stage: 0 }).request.tenant)).toEqual(reqs.slice(0, 50).map((r) => r.tenant));
    const plain = new WorkloadGenerator(parseScenario(SCENARIO.replace(/ {2}tenants:[\s\S]*?objectives/, 'objectives')), 'base');
    expect(plain.first({ index: 0, at: 0, stage: 0 }).request.tenant).toBeNull();
  });
});

describe('flow control in the virtual-time scorecard', () => {
  it('keeps the priority tenant fast, sheds the sheddable one, evicts at the TTL in virtual time, and shares fairly', async () => {
    const fc = await runScorecard(scenario, configFilePolicy('fc', scenario.configs[0].path).factory);
    const legacy = await runScorecard(scenario, policyFactory('switchboard'));
    const p90 = (rs: RequestRecord[]) => summarize(rs).ttft?.p90 ?? NaN;

    // The priority tenant never waits behind the others with flow control.
    expect(byTenant(fc.records, 'vip').every((r) => r.ok)).toBe(true);
    expect(p90(byTenant(fc.records, 'vip'))).toBeLessThan(p90(byTenant(legacy.records, 'vip')) / 2);
    // Sheddable requests are refused with 429 while saturated, in both modes.
    expect(byTenant(fc.records, 'batch').some((r) => r.error === 'reject_429')).toBe(true);
    expect(byTenant(legacy.records, 'batch').some((r) => r.error === 'reject_429')).toBe(true);
    // Requests that outwait the 2 s TTL leave with 503 exactly at the deadline (virtual timers).
    const expired = fc.records.filter((r) => r.error === 'reject_503');
    expect(expired.length).toBeGreaterThan(0);
    expect(Math.max(...expired.map((r) => Math.abs(r.end - r.start - 2000)))).toBeLessThan(1e-6);
    // Round-robin: the quiet tenant loses a smaller share than the noisy one.
    const lost = (t: string) => byTenant(fc.records, t).filter((r) => !r.ok).length / byTenant(fc.records, t).length;
    expect(lost('quiet')).toBeLessThan(lost('noisy'));

    const report = buildRunReport(scenario, 'fc', 4, fc.records, null, 2, 0);
    const noisy = report.breakdowns.byTenant.find((b) => b.key === 'noisy')!;
    expect(noisy.errors.reject_503).toBe(byTenant(fc.records, 'noisy').filter((r) => r.error === 'reject_503').length);
    expect(noisy.outputTokens).toBe(byTenant(fc.records, 'noisy').reduce((a, r) => a + (r.ok ? r.outputTokens : 0), 0));
  });
});

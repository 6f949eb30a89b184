import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarize } from '../../../src/workload/metrics.js';
import { parseScenario } from '../../../src/workload/scenario.js';
import { stringify } from 'yaml';
import { blendConfigDocument, configFilePolicy } from '../../../src/sim/scorecard/director-router.js';
import { defaultPolicies, policyFactory, policyNames } from '../../../src/sim/scorecard/policies.js';
import { runScorecard } from '../../../src/sim/scorecard/runner.js';

const SHARED = parseScenario(`
name: director-shared-prefix
seed: 2
fleet: { pods: 4, engine: { numGpuBlocks: 400 } }
workload:
  sharedPrefix: { groups: 12, systemTokens: 1200 }
  input: { uniform: [50, 150] }
  output: 16
arrivals: { process: poisson, stages: [ { rate: 20, duration: 1, warmup: true }, { rate: 40, duration: 4 } ] }
`);

describe('director-backed policies', () => {
  it('registers the baselines and the director policies; switchboard-precise only when named', () => {
    expect(policyNames()).toEqual(['round-robin', 'random', 'least-request', 'go-epp', 'switchboard', 'switchboard-precise']);
    expect(defaultPolicies()).toEqual(['round-robin', 'random', 'least-request', 'go-epp', 'switchboard']);
  });

  it('routes every request through the real director and keeps prefixes on the same pods', async () => {
    const rr = await runScorecard(SHARED, policyFactory('round-robin'));
    const epp = await runScorecard(SHARED, policyFactory('go-epp'));
    expect(epp.policy).toBe('go-epp');
    expect(epp.records.every((r) => r.ok && r.pod >= 0 && r.pod < 4)).toBe(true);
    const hit = (run: typeof rr) => summarize(run.records.filter((r) => r.stage === 1)).prefixHitRate as number;
    expect(hit(epp)).toBeGreaterThan(hit(rr) + 0.2);
  });

  it('is deterministic for a seed', async () => {
    const a = await runScorecard(SHARED, policyFactory('switchboard'));
    const b = await runScorecard(SHARED, policyFactory('switchboard'));
    expect(a.records.map((r) => [r.pod, r.end])).toEqual(b.records.map((r) => [r.pod, r.end]));
  });

  it('runs any EndpointPickerConfig file as a policy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-policy-'));
    const file = join(dir, 'queue-only.yaml');
    writeFileSync(file, stringify(blendConfigDocument([['queue-scorer', 1]])));
    const run = await runScorecard(SHARED, configFilePolicy('queue-only', file).factory);
    expect(run.policy).toBe('queue-only');
    expect(run.records.every((r) => r.ok)).toBe(true);
  });

  it('NAME@K is a twin: the same workload, its own tie-break stream, reported under its own name', async () => {
    const a = await runScorecard(SHARED, policyFactory('random'));
    const twin = await runScorecard(SHARED, policyFactory('random@1'));
    const again = await runScorecard(SHARED, policyFactory('random@1'));
    expect(twin.policy).toBe('random@1');
    expect(twin.seed).toBe(a.seed);
    // The workload is the run's: the same requests arrive at the same times with the same prompts.
    expect(twin.records.map((r) => [r.id, r.start, r.promptTokens])).toEqual(a.records.map((r) => [r.id, r.start, r.promptTokens]));
    // The picks are the twin's own, and repeatable.
    expect(twin.records.map((r) => r.pod)).not.toEqual(a.records.map((r) => r.pod));
    expect(again.records.map((r) => [r.pod, r.end])).toEqual(twin.records.map((r) => [r.pod, r.end]));
    // A director policy's twin goes through the real director too.
    const goTwin = await runScorecard(SHARED, policyFactory('go-epp@2'));
    expect(goTwin.policy).toBe('go-epp@2');
    expect(goTwin.records.every((r) => r.ok)).toBe(true);
    expect(() => policyFactory('nope@1')).toThrow(/unknown policy "nope@1".*NAME@K/);
    expect(() => policyFactory('go-epp@x')).toThrow(/unknown policy/);
  });
});

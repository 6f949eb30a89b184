/**
 * `switchboard plan` end to end on a tiny scenario: summary, plan.json, a self-contained
 * plan.html with the latency-vs-load curves, hpa.yaml; bad flags and SLO text name the problem.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runPlanCommand } from '../../src/cli/plan.js';
import type { PlanReport } from '../../src/sim/planner/plan-report.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TINY = fileURLToPath(new URL('../fixtures/plan/tiny.yaml', import.meta.url));

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c) => ((out += String(c)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c) => ((err += String(c)), true));
  try {
    return { code: await fn(), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('switchboard plan', () => {
  it('plans a tiny scenario and writes plan.json, plan.html and hpa.yaml', async () => {
    const out = join(dir, 'tiny');
    const r = await capture(() =>
      runPlanCommand(['--scenario', TINY, '--slo', 'ttft-p90=400ms,ntpot-p90=90ms', '--policies', 'least-request,random', '--max-pods', '6', '--tolerance', '0.1', '--pool', 'pool-a', '--out', out]),
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')) as PlanReport;
    expect(report.plans.map((p) => p.policy)).toEqual(['least-request', 'random']);
    for (const p of report.plans) expect(r.out).toContain(`${p.policy.padEnd(14)} ${p.pods} pods`);
    expect(r.out).toContain(`recommended: ${report.recommended!.policy}, ${report.recommended!.minReplicas} pods`);
    // One progress line per probe on stderr.
    expect(r.err.trim().split('\n')).toHaveLength(report.plans.reduce((n, p) => n + p.probes.length, 0));
    const html = readFileSync(join(out, 'plan.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html.match(/<polyline/g)?.length).toBeGreaterThanOrEqual(2);
    expect(html).toContain('SLO ttft-p90 ≤ 400 ms');
    expect(html).not.toMatch(/<script|src="http|href="http/);
    const hpa = parseYaml(readFileSync(join(out, 'hpa.yaml'), 'utf8')) as { spec: { metrics: Array<{ external: { metric: { selector: { matchLabels: unknown } } } }> } };
    expect(hpa.spec.metrics.length).toBeGreaterThan(0);
    expect(hpa.spec.metrics[0].external.metric.selector.matchLabels).toEqual({ name: 'pool-a' });
  });

  it.each([
    [['--scenario', TINY], 'invalid flag --slo: is required'],
    [['--scenario', TINY, '--slo', 'ttft-p90=2'], 'invalid config: --slo: "ttft-p90=2": "2" is not a duration with a unit (e.g. 2s, 60ms)'],
    [['--scenario', TINY, '--slo', 'tfft-p90=2s'], 'invalid config: --slo: "tfft-p90": unknown metric "tfft"'],
    [['--scenario', TINY, '--slo', 'ttft-p90=2s', '--pool', 'Bad_Name'], 'invalid flag --pool: "Bad_Name" is not a Kubernetes name'],
    [['--scenario', TINY, '--slo', 'ttft-p90=2s', '--policies', 'nope'], 'invalid config: policies: unknown policy "nope"'],
    [['--slo', 'ttft-p90=2s'], 'invalid flag --scenario: is required (or --trace)'],
  ])('%j fails with %s', async (argv, message) => {
    await expect(runPlanCommand(argv)).rejects.toThrow(message);
    expect(existsSync(join('bench', 'out', 'plan-tiny'))).toBe(false);
  });
});

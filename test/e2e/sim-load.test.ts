import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/loadgen/html-report.js';
import { runLoadScenario } from '../../src/loadgen/http-runner.js';
import { buildReport, buildRunReport } from '../../src/loadgen/report.js';
import { parseScenario } from '../../src/workload/scenario.js';
import { renderTable } from '../../src/loadgen/table.js';
import { startSimFleet, type SimFleet } from '../../src/sim/pod/fleet.js';

let fleet: SimFleet;

beforeAll(async () => {
  fleet = await startSimFleet({ pods: 2, engine: { numGpuBlocks: 2000, maxLoras: 2 }, modelName: 'sim', streamChunkTokens: 2 });
});

afterAll(async () => {
  await fleet.close();
});

describe('load generator against a simulated fleet (real HTTP, real time)', () => {
  it('sends a shared-prefix workload and reports sane, non-empty metrics', async () => {
    const scenario = parseScenario(`
name: e2e-shared-prefix
seed: 4
workload:
  sharedPrefix: { groups: 2, systemTokens: 300 }
  input: { uniform: [20, 60] }
  output: 8
arrivals:
  process: poisson
  stages:
    - { name: warm, rate: 20, duration: 0.3, warmup: true }
    - { name: main, rate: 40, duration: 0.7 }
drain: 10
maxRequests: 60
slo: { ttftMs: 5000 }
`);
    const run = await runLoadScenario(scenario, { baseUrl: fleet.pods[0].url, concurrency: 32 });
    expect(run.model).toBe('sim');
    expect(run.records.length).toBeGreaterThan(10);
    expect(run.records.length).toBeLessThanOrEqual(60);
    for (const r of run.records) {
      expect(r.ok).toBe(true);
      expect(r.outputTokens).toBe(8);
      expect(r.firstToken).toBeGreaterThan(r.start);
      expect(r.end).toBeGreaterThanOrEqual(r.lastToken);
      // 8 tokens in chunks of 2: 7 gaps, every other one zero.
      expect(r.itl.length).toBe(7);
      expect(r.itl[0]).toBe(0);
    }
    const report = buildReport('load', scenario, [buildRunReport(scenario, 'direct', 4, run.records, null, 0, run.wallMs)], fleet.pods[0].url, false);
    const o = report.runs[0].overall;
    expect(o.successRate).toBe(1);
    expect(o.ttft?.p50).toBeGreaterThan(0);
    expect(o.tpot?.p50).toBeGreaterThan(0);
    expect(o.outputTokensPerS).toBeGreaterThan(0);
    expect(o.prefixHitRate).toBeGreaterThan(0.3);
    expect(o.goodput?.percent).toBe(100);
    expect(renderTable(report)).toContain('direct');
    expect(renderHtml(report)).toContain('<svg');
  });

  it('runs multi-turn chat sessions whose later turns are served from the prefix cache', async () => {
    const scenario = parseScenario(`
name: e2e-sessions
seed: 5
workload:
  api: chat
  input: 100
  output: 6
  sessions: { turns: 3, followUp: 10, thinkTimeS: 0.02 }
# The second stage starts no sessions; it leaves time for follow-up turns.
arrivals: { process: constant, stages: [ { rate: 10, duration: 0.5 }, { rate: 0, duration: 1 } ] }
drain: 10
`);
    const run = await runLoadScenario(scenario, { baseUrl: fleet.pods[1].url });
    const later = run.records.filter((r) => r.turn > 0);
    expect(run.records.filter((r) => r.turn === 0)).toHaveLength(5);
    expect(later.length).toBeGreaterThanOrEqual(5);
    for (const r of run.records) expect(r.ok).toBe(true);
    // The previous turn's whole prompt (in full 16-token blocks) is served from the cache.
    for (const r of later) {
      const prev = run.records.find((p) => p.session === r.session && p.turn === r.turn - 1)!;
      expect(r.cachedTokens).toBeGreaterThanOrEqual(Math.floor(prev.promptTokens / 16) * 16);
    }
  });

  it('records failures from injected faults without stopping the run', async () => {
    const pod = fleet.pods[0].pod;
    pod.setFaults({ errorRate: 0.5, errorStatus: 503 });
    try {
      const scenario = parseScenario(`
name: e2e-faults
seed: 6
workload: { input: 30, output: 4 }
arrivals: { process: constant, stages: [ { rate: 40, duration: 0.5 } ] }
drain: 10
`);
      const run = await runLoadScenario(scenario, { baseUrl: fleet.pods[0].url, model: 'sim' });
      const failed = run.records.filter((r) => !r.ok);
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.length).toBeLessThan(run.records.length);
      expect(failed.every((r) => r.error === 'http_503')).toBe(true);
    } finally {
      pod.setFaults({ errorRate: 0 });
    }
  });
});

describe('load generator through switchboard serve (proxy) in front of a simulated fleet', () => {
  it('routes a shared-prefix workload through the proxy with sane results and exported metrics', async () => {
    const { parseFlags } = await import('../../src/cli/flags.js');
    const { SERVE_FLAGS } = await import('../../src/cli/serve-flags.js');
    const { startServe, stopAll } = await import('../../src/cli/serve.js');
    const { defaultConfig } = await import('../../src/config/defaults.js');
    const { createLogger } = await import('../../src/telemetry/logger.js');
    const flags = parseFlags(SERVE_FLAGS, [
      `--endpoints=${fleet.pods.map((p) => `${p.address}:${p.port}`).join(',')}`,
      '--bind-address=127.0.0.1',
      '--grpc-port=-1',
      '--metrics-port=0',
      '--proxy-port=0',
      '--refresh-metrics-interval=20ms',
    ]);
    const logger = createLogger('silent');
    const started = await startServe(flags, defaultConfig(), logger);
    try {
      const scenario = parseScenario(`
name: e2e-through-proxy
seed: 5
workload:
  sharedPrefix: { groups: 2, systemTokens: 300 }
  input: { uniform: [20, 60] }
  output: 8
arrivals:
  process: poisson
  stages:
    - { name: main, rate: 40, duration: 0.8 }
drain: 10
maxRequests: 40
`);
      const run = await runLoadScenario(scenario, { baseUrl: started.proxyUrl as string, concurrency: 16 });
      expect(run.records.length).toBeGreaterThan(10);
      for (const r of run.records) {
        expect(r.ok).toBe(true);
        expect(r.outputTokens).toBe(8);
      }
      const report = buildReport('load', scenario, [buildRunReport(scenario, 'proxy', 5, run.records, null, 0, run.wallMs)], started.proxyUrl as string, false);
      expect(report.runs[0].overall.successRate).toBe(1);
      expect(report.runs[0].overall.prefixHitRate).toBeGreaterThan(0.3);
      const text = await (await fetch(`http://127.0.0.1:${started.metricsPort}/metrics`)).text();
      expect(text).toMatch(new RegExp(`inference_objective_request_total\\{model_name="sim",target_model_name="sim",priority="0"\\} ${run.records.length}`));
      expect(text).toMatch(/inference_objective_output_tokens_sum\{model_name="sim",target_model_name="sim"\} \d+/);
    } finally {
      await stopAll(started.closables, logger);
    }
  });
});

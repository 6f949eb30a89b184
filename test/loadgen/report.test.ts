import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/loadgen/html-report.js';
import type { RequestRecord } from '../../src/workload/metrics.js';
import { aggregate, buildReport, buildRunReport, spread } from '../../src/loadgen/report.js';
import { parseScenario } from '../../src/workload/scenario.js';
import { renderTable } from '../../src/loadgen/table.js';

const scenario = parseScenario(`
name: report-test
workload: { input: 10, output: 2 }
arrivals: { stages: [ { name: warm, rate: 1, duration: 1, warmup: true }, { name: main, rate: 1, duration: 1 } ] }
slo: { ttftMs: 100 }
`);

function rec(id: string, stage: number, ttft: number, lora: string | null, turn: number): RequestRecord {
  return {
    id,
    stage,
    pod: 0,
    lora,
    tenant: null,
    session: turn >= 0 ? 0 : -1,
    turn,
    start: 0,
    firstToken: ttft,
    lastToken: ttft + 10,
    end: ttft + 10,
    ok: true,
    error: null,
    promptTokens: 10,
    outputTokens: 2,
    cachedTokens: 5,
    itl: [10],
  };
}

describe('reports', () => {
  const records = [rec('w', 0, 1000, 'a', 0), rec('m1', 1, 50, 'a', 0), rec('m2', 1, 150, 'b', 1), rec('m3', 1, 70, 'a', 1)];

  it('summarises per stage, excludes warm-up from the overall summary and breaks down by adapter and turn', () => {
    const r = buildRunReport(scenario, 'p', 1, records, null, 1, 5);
    expect(r.stages.map((s) => [s.name, s.summary.requests])).toEqual([
      ['warm', 1],
      ['main', 3],
    ]);
    expect(r.overall.requests).toBe(3);
    expect(r.overall.ttft?.max).toBe(150);
    expect(r.overall.goodput?.good).toBe(2);
    expect(r.breakdowns.byAdapter.map((b) => [b.key, b.requests])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    expect(r.breakdowns.byTurn.map((b) => b.key).sort()).toEqual(['turn 1', 'turn 2']);
    expect(r.breakdowns.byAdapter[0].prefixHitRate).toBe(0.5);
  });

  it('aggregates seeds by median and spread, and renders the table and the page', () => {
    const runs = [1, 2, 3].map((seed) => buildRunReport(scenario, 'p', seed, records.map((x) => ({ ...x, firstToken: x.firstToken * seed })), null, 1, 5));
    const ag = aggregate(runs);
    expect(ag).toHaveLength(1);
    expect(ag[0].seeds).toEqual([1, 2, 3]);
    expect(ag[0].headlines.ttftP50.values).toHaveLength(3);
    expect(ag[0].headlines.ttftP50.median).toBe(140);
    expect(spread([3, NaN, 1, 2])).toMatchObject({ median: 2, min: 1, max: 3 });
    const report = buildReport('bench', scenario, runs, null, true);
    expect(renderTable(report)).toMatch(/^p\s+140\s+/m);
    const html = renderHtml(report);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html.match(/<svg/g)?.length).toBe(5);
    expect(html).toContain('By LoRA adapter and session turn');
  });
});

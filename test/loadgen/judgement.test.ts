import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/loadgen/html-report.js';
import { buildReport, buildRunReport } from '../../src/loadgen/report.js';
import { renderTable } from '../../src/loadgen/table.js';
import type { RequestRecord } from '../../src/workload/metrics.js';
import { parseScenario } from '../../src/workload/scenario.js';

const scenario = parseScenario(`
name: judgement-test
workload: { input: 10, output: 11 }
arrivals:
  stages:
    - { name: warm, rate: 1, duration: 1, warmup: true }
    - { name: low, rate: 1, duration: 1 }
    - { name: high, rate: 1, duration: 1 }
slo: { ttftMs: 1000 }
`);

/** 20 requests per stage with TTFT `ttft[stage]` and 10 ms between tokens. */
function records(ttft: readonly number[]): RequestRecord[] {
  const out: RequestRecord[] = [];
  ttft.forEach((t, stage) => {
    for (let i = 0; i < 20; i++) {
      const start = stage * 1000 + i;
      out.push({
        id: `${stage}-${i}`,
        stage,
        pod: i % 2,
        lora: null,
        tenant: null,
        session: -1,
        turn: -1,
        start,
        firstToken: start + t,
        lastToken: start + t + 100,
        end: start + t + 100,
        ok: true,
        error: null,
        promptTokens: 10,
        outputTokens: 11,
        cachedTokens: 0,
        itl: Array.from({ length: 10 }, () => 10),
      });
    }
  });
  return out;
}

// least-request and go-epp are the references; `slow` loses TTFT in the high stage only,
// `fast` wins it there; `same` ties everything.
const byPolicy: Record<string, number[]> = {
  'least-request': [100, 100, 400],
  'go-epp': [100, 120, 300],
  slow: [100, 100, 600],
  fast: [100, 100, 200],
  same: [100, 100, 310],
};
const report = buildReport(
  'bench',
  scenario,
  Object.entries(byPolicy).flatMap(([p, t]) => [1, 2, 3].map((seed) => buildRunReport(scenario, p, seed, records(t), null, 2, 1))),
  null,
  true,
);

describe('judgement in reports', () => {
  const j = report.judgement;

  it('judges overall and each measured stage against the better reference', () => {
    expect(j?.references).toEqual(['least-request', 'go-epp']);
    const loss = j?.cells.filter((c) => c.verdict === 'loss').map((c) => [c.policy, c.scope, c.metric, c.value, c.reference, c.referencePolicy]);
    // high stage TTFT 600 vs go-epp's 300 (every percentile); E2E and NTPOT follow TTFT.
    expect(loss).toContainEqual(['slow', 'high', 'ttftP90', 600, 300, 'go-epp']);
    // Each reference loses where the other is better: go-epp's low stage (120 vs 100 ms TTFT).
    expect(loss?.filter(([p]) => p !== 'slow' && p !== 'least-request').map(([p, s, m]) => `${p} ${s} ${m}`)).toEqual(['go-epp low ttftP50', 'go-epp low ttftP90', 'go-epp low ttftP99']);
    // least-request itself loses the high stage to go-epp (400 vs 300).
    expect(loss).toContainEqual(['least-request', 'high', 'ttftP90', 400, 300, 'go-epp']);
    const counts = Object.fromEntries((j?.counts ?? []).map((c) => [c.policy, c]));
    expect(counts.same.loss).toBe(0);
    expect(counts.same.win).toBe(0);
    expect(counts.fast.win).toBeGreaterThan(0);
    expect(counts.fast.loss).toBe(0);
    expect(counts.slow.loss).toBe(loss?.filter(([p]) => p === 'slow').length);
    // warm-up is never judged; scopes: overall, low, high
    expect(new Set(j?.cells.map((c) => c.scope))).toEqual(new Set(['overall', 'low', 'high']));
  });

  it('marks losses in the terminal table with a count per policy and lists them', () => {
    const table = renderTable(report);
    const header = table.split('\n')[2];
    expect(header).toMatch(/losses$/);
    const slowRow = table.split('\n').find((l) => l.startsWith('slow '));
    expect(slowRow).toMatch(/ !/);
    expect(slowRow?.trim().split(/\s+/).at(-1)).toBe(String(j?.counts.find((c) => c.policy === 'slow')?.loss));
    const sameRow = table.split('\n').find((l) => l.startsWith('same '));
    expect(sameRow).not.toMatch(/!/);
    expect(sameRow?.trim().split(/\s+/).at(-1)).toBe('0');
    expect(table).toContain('loss: slow · high · TTFT p90 (ms) 600 vs 300 (go-epp)');
    expect(table).toContain('more than 10% worse than the better of least-request and go-epp');
  });

  it('marks losses and wins in the HTML summary and the per-stage verdict table', () => {
    const html = renderHtml(report);
    expect(html).toContain('<h2>Verdicts against least-request and go-epp</h2>');
    expect(html).toMatch(/<td class="loss" title="loss vs go-epp 300">600<\/td>/);
    expect(html).toMatch(/<td class="win" title="win vs go-epp 300">200<\/td>/);
    expect(html).toMatch(/<tr><th>slow<\/th><td class="win">0<\/td><td>\d+<\/td><td class="loss">[1-9]\d*<\/td><\/tr>/);
    expect(html).toContain('<table class="losses">');
  });

  it('does not judge without a reference policy (load reports)', () => {
    const one = buildReport('load', scenario, [buildRunReport(scenario, 'target', 1, records([1, 2, 3]), null, 0, 1)], 'http://x', false);
    expect(one.judgement).toBeNull();
    expect(renderTable(one)).not.toContain('losses');
    expect(renderHtml(one)).not.toContain('Verdicts');
  });
});

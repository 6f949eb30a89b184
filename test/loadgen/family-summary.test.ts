/**
 * The family summary's required-metric count: losses on the metrics the default profile is held
 * to no loss on, over whole runs only, and the scenarios they fall in, from the reports' verdicts.
 */
import { describe, expect, it } from 'vitest';
import { familyMarkdown, renderFamilySummary, summarizeFamily, type FamilyEntry } from '../../src/loadgen/family-summary.js';
import type { JudgedCell } from '../../src/loadgen/judgement.js';
import type { Report } from '../../src/loadgen/report.js';
import { REQUIRED_METRICS, type JudgedMetric, type Verdict } from '../../src/workload/judge.js';

/** A report reduced to what the summary reads: the scenario's name, the policies' seeds, the verdicts. */
function entry(name: string, policies: string[], cells: Array<[string, string, JudgedMetric, Verdict]>): FamilyEntry {
  const judged: JudgedCell[] = cells.map(([policy, scope, metric, verdict]) => ({
    policy,
    scope,
    stage: scope === 'overall' ? -1 : 0,
    metric,
    value: 2,
    reference: 1,
    referencePolicy: 'least-request',
    verdict,
  }));
  const report = { scenario: { name }, aggregates: policies.map((policy) => ({ policy, seeds: [1] })), judgement: { cells: judged } };
  return { file: `${name}.yaml`, report: report as unknown as Report };
}

describe('family summary: required metrics', () => {
  it('names the five metrics the no-loss goal is read from', () => {
    expect(REQUIRED_METRICS).toEqual(['ttftP90', 'ttftP99', 'ntpotP90', 'e2eP90', 'goodputPct']);
  });

  it('counts required losses over whole runs, the scenarios they fall in, and the scenarios free of them', () => {
    const entries = [
      entry('a', ['least-request', 'go-epp', 'mine'], [
        ['go-epp', 'overall', 'ttftP99', 'loss'],
        ['mine', 'overall', 'ttftP90', 'loss'],
        ['mine', 'overall', 'goodputPct', 'loss'],
        ['mine', 'overall', 'ttftP50', 'loss'],
        ['least-request', 'overall', 'ttftP90', 'tie'],
      ]),
      entry('b', ['least-request', 'go-epp', 'mine', 'other'], [
        // Not required: a median, and a required metric within one stage only.
        ['go-epp', 'overall', 'ttftP50', 'loss'],
        ['go-epp', 'overall', 'ntpotP90', 'win'],
        ['mine', '80%', 'e2eP90', 'loss'],
        ['mine', 'overall', 'e2eP90', 'tie'],
        ['least-request', 'overall', 'ntpotP90', 'loss'],
        ['other', 'overall', 'ttftP99', 'tie'],
      ]),
    ];
    const s = summarizeFamily('f', entries, 1000);
    expect(s.required).toEqual([
      { policy: 'least-request', losses: 1, scenariosLost: 1, lossFree: 1 },
      { policy: 'go-epp', losses: 1, scenariosLost: 1, lossFree: 1 },
      { policy: 'mine', losses: 2, scenariosLost: 1, lossFree: 1 },
      // Judged in one scenario only: the other does not count as free.
      { policy: 'other', losses: 0, scenariosLost: 0, lossFree: 1 },
    ]);
    // The per-metric tallies still count every loss, required or not.
    expect(s.tallies.find((t) => t.policy === 'mine')?.total.loss).toBe(4);

    const text = renderFamilySummary(s);
    expect(text).toContain('required metrics (TTFT p90, TTFT p99, NTPOT p90, E2E p90, goodput; whole runs)');
    expect(text).toMatch(/^ {2}mine +2 in 1 of 2$/m);
    expect(text).toMatch(/^ {2}other +0 in 0 of 1$/m);
    const md = familyMarkdown(s);
    expect(md).toContain('| policy | cells lost | scenarios with a loss | scenarios without |');
    expect(md).toContain('| mine | 2 | 1 | 1 |');
    expect(md).toContain('| least-request | 1 | 1 | 1 |');
  });

  it('is empty of losses when no report was judged', () => {
    const s = summarizeFamily('f', [entry('a', ['round-robin'], [])], 0);
    expect(s.required).toEqual([{ policy: 'round-robin', losses: 0, scenariosLost: 0, lossFree: 0 }]);
    expect(renderFamilySummary(s)).toMatch(/^ {2}round-robin +0 in 0 of 0$/m);
  });

  it('judges the references run again: the better of their twins in each required cell', () => {
    /** Overall cells with their own values against one reference value per metric. */
    const valued = (name: string, policies: string[], cells: Array<[string, JudgedMetric, number, number]>): FamilyEntry => {
      const judged: JudgedCell[] = cells.map(([policy, metric, value, reference]) => ({
        policy,
        scope: 'overall',
        stage: -1,
        metric,
        value,
        reference,
        referencePolicy: 'least-request',
        verdict: value > reference * 1.1 ? 'loss' : 'tie',
      }));
      const report = { scenario: { name }, aggregates: policies.map((policy) => ({ policy, seeds: [1] })), judgement: { cells: judged } };
      return { file: `${name}.yaml`, report: report as unknown as Report };
    };
    const pols = ['least-request', 'go-epp', 'least-request@1', 'go-epp@1', 'least-request@2'];
    const s = summarizeFamily(
      'f',
      [
        // Each twin alone loses one cell, but the other twin is within the margin there: no loss.
        valued('a', pols, [
          ['least-request@1', 'ttftP90', 200, 100],
          ['go-epp@1', 'ttftP90', 105, 100],
          ['least-request@1', 'ttftP99', 300, 300],
          ['go-epp@1', 'ttftP99', 400, 300],
          // Goodput: higher is better, so the better twin is the larger value.
          ['least-request@1', 'goodputPct', 80, 99],
          ['go-epp@1', 'goodputPct', 98.5, 99],
        ]),
        // Both twins lose TTFT p90 and NTPOT p90: two cells; a median is not required.
        valued('b', pols, [
          ['least-request@1', 'ttftP90', 150, 100],
          ['go-epp@1', 'ttftP90', 130, 100],
          ['least-request@1', 'ntpotP90', 30, 20],
          ['go-epp@1', 'ntpotP90', 40, 20],
          ['least-request@1', 'ttftP50', 90, 10],
          ['go-epp@1', 'ttftP50', 90, 10],
        ]),
      ],
      1000,
    );
    // least-request@2 has no go-epp@2 beside it: no row for K = 2.
    expect(s.rerun).toEqual([{ policy: 'references@1', losses: 2, scenariosLost: 1, lossFree: 1 }]);
    expect(renderFamilySummary(s)).toMatch(/^ {2}references@1 +2 in 1 of 2 {2}the better of least-request@1 and go-epp@1 in each cell: the references run again$/m);
    expect(familyMarkdown(s)).toContain('| references@1 (the better of least-request@1 and go-epp@1 in each cell: the references run again) | 2 | 1 | 1 |');
    // Without both twins there is nothing to add.
    expect(summarizeFamily('f', [valued('a', ['least-request', 'go-epp', 'go-epp@1'], [['go-epp@1', 'ttftP90', 500, 100]])], 0).rerun).toEqual([]);
  });
});

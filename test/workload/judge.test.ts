import { describe, expect, it } from 'vitest';
import { JUDGED_METRICS, JUDGE_RULES, bestReference, describeRules, judge, worse, type JudgedMetric, type Verdict } from '../../src/workload/judge.js';

describe('judge: the loss rule', () => {
  // [metric, value, reference, verdict]
  const table: Array<[JudgedMetric, number, number, Verdict | null]> = [
    // lower is better: more than 10% above the reference and beyond the floor
    ['ttftP90', 500, 400, 'loss'],
    ['ttftP90', 440, 400, 'tie'], // exactly 10%: not more than
    ['ttftP90', 441, 400, 'loss'],
    ['ttftP90', 370, 400, 'tie'],
    ['ttftP90', 360, 400, 'win'], // 400 is more than 10% above 360
    ['ttftP90', 300, 400, 'win'],
    ['ttftP90', 45, 36, 'tie'], // 25% worse but within the 10 ms floor
    ['ttftP90', 47, 36, 'loss'],
    ['ttftP50', 2, 1, 'tie'], // 1 ms differences are ties
    ['tpotP50', 26, 12, 'loss'],
    ['tpotP50', 12.9, 12, 'tie'],
    ['ntpotP90', 54, 20, 'loss'],
    ['ntpotP90', 1.5, 0.9, 'tie'], // within the 1 ms floor
    ['e2eP90', 16_000, 6_100, 'loss'],
    ['e2eP90', 140, 100, 'tie'], // 40% worse but within the 50 ms floor
    ['preemptions', 1, 0, 'tie'],
    ['preemptions', 10, 0, 'tie'],
    ['preemptions', 11, 0, 'loss'],
    ['preemptions', 75, 31, 'loss'],
    ['loraLoads', 618, 768, 'win'],
    ['loraLoads', 700, 768, 'tie'],
    // higher is better, percentages: also judged on the share missing
    ['goodputPct', 97, 99, 'loss'], // 3% missing vs 1%
    ['goodputPct', 91, 99, 'loss'],
    ['goodputPct', 98.5, 99, 'tie'], // within the 1 pp floor
    ['goodputPct', 99, 97, 'win'],
    ['goodputPct', 40, 44, 'tie'], // 9% fewer, misses 60 vs 56 (7% more)
    ['goodputPct', 39, 44, 'loss'], // 13% fewer
    ['successPct', 100, 100, 'tie'],
    ['successPct', 99.5, 100, 'tie'],
    ['successPct', 98, 100, 'loss'],
    // undefined values
    ['ttftP90', NaN, 400, 'loss'], // nothing succeeded where the reference served
    ['ttftP90', 400, NaN, null],
    ['goodputPct', NaN, NaN, null],
  ];

  it.each(table)('%s: %d against %d is %s', (metric, value, reference, verdict) => {
    expect(judge(metric, value, reference)).toBe(verdict);
  });

  it('is symmetric: a loss one way is a win the other', () => {
    for (const [metric, value, reference, verdict] of table) {
      if (!Number.isFinite(value) || !Number.isFinite(reference)) continue;
      const back = judge(metric, reference, value);
      expect(back).toBe(verdict === 'loss' ? 'win' : verdict === 'win' ? 'loss' : 'tie');
      expect(worse(metric, value, reference)).toBe(verdict === 'loss');
    }
  });

  it('picks the better reference by direction, skipping undefined values', () => {
    expect(bestReference('ttftP90', [400, 300])).toEqual({ value: 300, index: 1 });
    expect(bestReference('goodputPct', [95, 99])).toEqual({ value: 99, index: 1 });
    expect(bestReference('ttftP90', [NaN, 350])).toEqual({ value: 350, index: 1 });
    expect(bestReference('ttftP90', [NaN, NaN])).toEqual({ value: NaN, index: -1 });
  });

  it('has a rule for every judged metric and names every floor in its description', () => {
    expect(JUDGED_METRICS).toHaveLength(10);
    const text = describeRules();
    for (const m of JUDGED_METRICS) {
      expect(JUDGE_RULES[m].floor).toBeGreaterThan(0);
      expect(text).toContain(`${m} ${JUDGE_RULES[m].floor}`);
    }
    expect(text).toContain('least-request and go-epp');
  });
});

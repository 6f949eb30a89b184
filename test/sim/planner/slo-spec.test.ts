/** The planner's `--slo` text: targets parsed, bad terms named; judging records against it. */
import { describe, expect, it } from 'vitest';
import { judgeSlo, parseSloSpec } from '../../../src/sim/planner/slo-spec.js';
import type { RequestRecord } from '../../../src/workload/metrics.js';

describe('--slo parsing', () => {
  it('reads metric, percentile and duration per term, success as a share', () => {
    const s = parseSloSpec('ttft-p90=2s, ntpot-p90=60ms,e2e-p99.5=1m,success=99.5%');
    expect(s.targets).toEqual([
      { metric: 'ttft', quantile: 0.9, limitMs: 2000, label: 'ttft-p90' },
      { metric: 'ntpot', quantile: 0.9, limitMs: 60, label: 'ntpot-p90' },
      { metric: 'e2e', quantile: 0.995, limitMs: 60_000, label: 'e2e-p99.5' },
    ]);
    expect(s.minSuccess).toBeCloseTo(0.995);
    expect(s.text).toBe('ttft-p90=2000ms,ntpot-p90=60ms,e2e-p99.5=60000ms,success=99.5%');
    expect(parseSloSpec('tpot-p50=40ms').minSuccess).toBe(0.99);
  });

  it.each([
    ['', '--slo: is empty'],
    ['ttft-p90', '--slo: "ttft-p90": expected NAME=VALUE'],
    ['ttft=2s', '--slo: "ttft": expected METRIC-pNN'],
    ['latency-p90=2s', '--slo: "latency-p90": unknown metric "latency" (known: ttft, tpot, ntpot, itl, e2e)'],
    ['ttft-p100=2s', '--slo: "ttft-p100": percentile must be between p0 and p100'],
    ['ttft-p90=2', '--slo: "ttft-p90=2": "2" is not a duration with a unit'],
    ['ttft-p90=fast', '--slo: "ttft-p90=fast": "fast" is not a duration'],
    ['ttft-p90=0s', '--slo: "ttft-p90=0s": the limit must be above 0'],
    ['ttft-p90=2s,ttft-p90=3s', '--slo: "ttft-p90" given twice'],
    ['ttft-p90=2s,,tpot-p90=1s', '--slo: empty term'],
    ['success=120%', '--slo: "success=120%": success must be a share'],
    ['success=99%', '--slo: needs at least one latency target'],
  ])('%j → invalid config: %s', (text, message) => {
    expect(() => parseSloSpec(text)).toThrow(`invalid config: ${message}`);
  });
});

function rec(ttft: number, e2e: number, out: number, ok = true): RequestRecord {
  return {
    id: 'r', stage: 0, pod: 0, lora: null, tenant: null, session: -1, turn: -1,
    start: 0, firstToken: ttft, lastToken: e2e, end: e2e, ok, error: ok ? null : 'x',
    promptTokens: 10, outputTokens: out, cachedTokens: -1, itl: [],
  };
}

describe('judging', () => {
  it('passes when every target quantile is at or under its limit and enough requests succeed', () => {
    const slo = parseSloSpec('ttft-p50=100ms,ntpot-p50=20ms,success=90%');
    const records = [rec(50, 500, 50), rec(100, 1000, 50), rec(150, 1500, 50)];
    const v = judgeSlo(records, slo);
    expect(v.values).toEqual([100, 20]);
    expect(v.pass).toBe(true);
    expect(judgeSlo([...records, rec(10, 10, 1, false)], slo)).toMatchObject({ pass: false, successRate: 0.75 });
    expect(judgeSlo(records, parseSloSpec('ttft-p90=100ms')).pass).toBe(false);
    expect(judgeSlo([], slo).pass).toBe(false);
  });
});

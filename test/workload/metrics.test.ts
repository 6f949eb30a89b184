import { describe, expect, it } from 'vitest';
import { coefficientOfVariation, distribution, quantileSorted, requestLatencies, summarize, type RequestRecord } from '../../src/workload/metrics.js';

function rec(p: Partial<RequestRecord> & Pick<RequestRecord, 'id' | 'start' | 'end'>, tokenTimes: number[] = []): RequestRecord {
  const itl: number[] = [];
  for (let i = 1; i < tokenTimes.length; i++) itl.push(tokenTimes[i] - tokenTimes[i - 1]);
  return {
    stage: 0,
    pod: 0,
    lora: null,
    tenant: null,
    session: -1,
    turn: -1,
    firstToken: tokenTimes.length > 0 ? tokenTimes[0] : NaN,
    lastToken: tokenTimes.length > 0 ? tokenTimes[tokenTimes.length - 1] : NaN,
    ok: true,
    error: null,
    promptTokens: 0,
    outputTokens: tokenTimes.length,
    cachedTokens: -1,
    itl,
    ...p,
  };
}

// Hand-computed trace (ms):
//   A: start 0, tokens at 100,110,130,160, end 160, prompt 100 (64 cached), pod 0
//   B: start 50, tokens at 250,300, end 310, prompt 200 (0 cached), pod 1
//   C: start 20, failed (HTTP 503) at 400, prompt 300, pod 1
//   D: start 100, one token at 150, end 150, prompt 50 (cached unknown), pod 0
const trace: RequestRecord[] = [
  rec({ id: 'A', start: 0, end: 160, promptTokens: 100, cachedTokens: 64, pod: 0 }, [100, 110, 130, 160]),
  rec({ id: 'B', start: 50, end: 310, promptTokens: 200, cachedTokens: 0, pod: 1 }, [250, 300]),
  rec({ id: 'C', start: 20, end: 400, promptTokens: 300, ok: false, error: 'http_503', pod: 1 }),
  rec({ id: 'D', start: 100, end: 150, promptTokens: 50, pod: 0 }, [150]),
];

describe('metric formulas on a hand-computed trace', () => {
  it('computes per-request TTFT, TPOT, NTPOT and E2E', () => {
    expect(requestLatencies(trace[0])).toEqual({ e2e: 160, ttft: 100, tpot: 20, ntpot: 40 });
    expect(requestLatencies(trace[1])).toEqual({ e2e: 260, ttft: 200, tpot: 50, ntpot: 130 });
    // One output token: no TPOT.
    expect(requestLatencies(trace[3])).toEqual({ e2e: 50, ttft: 50, tpot: null, ntpot: 50 });
    // TPOT equals (E2E - TTFT)/(n - 1) when the stream ends at the last token.
    const a = requestLatencies(trace[0]);
    expect(a.tpot).toBe((a.e2e - (a.ttft as number)) / 3);
  });

  it('summarises latencies, throughput, success, goodput, hit rate and pod imbalance', () => {
    const s = summarize(trace, { ttftMs: 150, tpotMs: 30 }, 2);
    expect(s.requests).toBe(4);
    expect(s.succeeded).toBe(3);
    expect(s.successRate).toBe(0.75);
    expect(s.errors).toEqual({ http_503: 1 });
    // Window: min start 0 to max end 400 over all requests.
    expect(s.durationS).toBe(0.4);
    expect(s.inputTokensPerS).toBeCloseTo(350 / 0.4, 9);
    expect(s.outputTokensPerS).toBeCloseTo(7 / 0.4, 9);
    expect(s.totalTokensPerS).toBeCloseTo(357 / 0.4, 9);
    expect(s.requestsPerS).toBeCloseTo(3 / 0.4, 9);
    // TTFT [50, 100, 200]
    expect(s.ttft).toMatchObject({ count: 3, min: 50, max: 200, p50: 100, p90: 180 });
    expect(s.ttft?.mean).toBeCloseTo(350 / 3, 9);
    // TPOT [20, 50]
    expect(s.tpot).toMatchObject({ count: 2, p50: 35, p90: 47 });
    // NTPOT [40, 50, 130]
    expect(s.ntpot).toMatchObject({ count: 3, p50: 50 });
    // ITL pooled over tokens: [10, 20, 30, 50]
    expect(s.itl?.count).toBe(4);
    expect(s.itl?.p50).toBe(25);
    expect(s.itl?.p99).toBeCloseTo(49.4, 9);
    expect(s.e2e).toMatchObject({ count: 3, p50: 160 });
    // Goodput: only A meets TTFT <= 150 and TPOT <= 30 (D has no TPOT, B misses TTFT).
    expect(s.goodput?.good).toBe(1);
    expect(s.goodput?.percent).toBeCloseTo(100 / 3, 9);
    expect(s.goodput?.requestsPerS).toBeCloseTo(1 / 0.31, 9);
    expect(s.goodput?.tokensPerS).toBeCloseTo(104 / 0.31, 9);
    // Token-weighted hit rate over requests that reported cached tokens: 64 / 300.
    expect(s.prefixHitRate).toBeCloseTo(64 / 300, 12);
    // Prompt tokens per pod [150, 500] (failures count toward assignment).
    expect(s.imbalance?.podRequests).toEqual([2, 2]);
    expect(s.imbalance?.podPromptTokens).toEqual([150, 500]);
    expect(s.imbalance?.cvPromptTokens).toBeCloseTo(175 / 325, 12);
  });

  it('has no goodput without SLOs and handles an empty stage', () => {
    expect(summarize(trace).goodput).toBeNull();
    const empty = summarize([], {}, 3);
    expect(empty.requests).toBe(0);
    expect(empty.ttft).toBeNull();
    expect(empty.outputTokensPerS).toBe(0);
    expect(empty.prefixHitRate).toBeNull();
    expect(empty.imbalance?.cvPromptTokens).toBe(0);
  });
});

describe('statistics helpers', () => {
  it('interpolates quantiles linearly like numpy', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBeCloseTo(9.1, 12);
    expect(quantileSorted([7], 0.99)).toBe(7);
    expect(Number.isNaN(quantileSorted([], 0.5))).toBe(true);
    expect(distribution([3, 1, 2])).toMatchObject({ min: 1, max: 3, mean: 2, p50: 2 });
  });

  it('computes the coefficient of variation', () => {
    expect(coefficientOfVariation([1, 1, 1])).toBe(0);
    expect(coefficientOfVariation([0, 0])).toBe(0);
    expect(coefficientOfVariation([2, 4])).toBeCloseTo(1 / 3, 12);
  });
});

describe('quantiles of large samples', () => {
  it('selects the same percentiles as a full sort', () => {
    let x = 12345;
    const next = () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x;
    };
    // Many duplicates, as pooled ITLs have.
    const values = Array.from({ length: 120_001 }, () => (next() % 500) / 7);
    const sorted = Float64Array.from(values).sort();
    const d = distribution(values)!;
    expect(d.p50).toBe(quantileSorted(sorted, 0.5));
    expect(d.p90).toBe(quantileSorted(sorted, 0.9));
    expect(d.p99).toBeCloseTo(quantileSorted(sorted, 0.99), 12);
    expect(d.min).toBe(sorted[0]);
    expect(d.max).toBe(sorted[sorted.length - 1]);
    const even = values.slice(0, 100_000);
    const se = Float64Array.from(even).sort();
    const de = distribution(even)!;
    expect(de.p50).toBeCloseTo(quantileSorted(se, 0.5), 12);
    expect(de.p99).toBeCloseTo(quantileSorted(se, 0.99), 12);
  });
});

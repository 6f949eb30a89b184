import { describe, expect, it } from 'vitest';
import { calibrateCapacity, rungHolds } from '../../../src/sim/scorecard/calibrate.js';
import type { RequestRecord } from '../../../src/workload/metrics.js';
import { parseScenario } from '../../../src/workload/scenario.js';

function rec(start: number, ttft: number, ok = true, tpot = 10): RequestRecord {
  return {
    id: String(start),
    stage: 0,
    pod: 0,
    lora: null,
    tenant: null,
    session: -1,
    turn: -1,
    start,
    firstToken: start + ttft,
    lastToken: start + ttft + 10 * tpot,
    end: start + ttft + 10 * tpot,
    ok,
    error: ok ? null : 'timeout',
    promptTokens: 10,
    outputTokens: 11,
    cachedTokens: 0,
    itl: [],
  };
}

describe('calibration ladder', () => {
  it('a rung holds while TTFT does not grow, requests succeed and decode stays under the knee', () => {
    const flat = Array.from({ length: 30 }, (_, i) => rec(i * 10, 100));
    expect(rungHolds(flat, 1.5, 250, Infinity).holds).toBe(true);
    const growing = Array.from({ length: 30 }, (_, i) => rec(i * 10, 100 + i * 100));
    expect(rungHolds(growing, 1.5, 250, Infinity)).toMatchObject({ holds: false, ttftFirst: 600, ttftLast: 2600 });
    const failing = flat.map((r, i) => (i % 10 === 0 ? { ...r, ok: false } : r));
    expect(rungHolds(failing, 1.5, 250, Infinity)).toMatchObject({ holds: false, successRate: 0.9 });
    expect(rungHolds(flat, 1.5, 250, 5)).toMatchObject({ holds: false, tpotP50: 10 });
    expect(rungHolds([], 1.5, 250, Infinity).holds).toBe(false);
  });

  it('finds the highest rate least-request sustains, between a rung that held and one that did not', async () => {
    const at = (rate: number) =>
      parseScenario(`
name: cal
seed: 2
fleet: { pods: 2, engine: { maxNumSeqs: 8 } }
workload: { input: 200, output: 40 }
arrivals: { stages: [ { rate: ${rate}, duration: ${(60 / rate).toFixed(3)} } ] }
drain: 60
`);
    const cal = await calibrateCapacity(at, { start: 2, growth: 2, bisections: 2, slowdown: 1.5, slackMs: 100, tpotSlowdown: 3 });
    const held = cal.rungs.filter((r) => r.holds).map((r) => r.rate);
    const failed = cal.rungs.filter((r) => !r.holds).map((r) => r.rate);
    expect(held.length).toBeGreaterThan(0);
    expect(failed.length).toBeGreaterThan(0);
    expect(cal.capacity).toBe(Math.max(...held));
    // Two 8-sequence pods decoding 40 tokens at ~6-7 ms per step serve tens of requests a second, not thousands.
    expect(cal.capacity).toBeGreaterThan(4);
    expect(cal.capacity).toBeLessThan(200);
    expect(Math.min(...failed.filter((r) => r > cal.capacity))).toBeGreaterThan(cal.capacity);
    // Deterministic.
    const again = await calibrateCapacity(at, { start: 2, growth: 2, bisections: 2, slowdown: 1.5, slackMs: 100, tpotSlowdown: 3 });
    expect(again.capacity).toBe(cal.capacity);
  });

  it('holds rungs after the first for several service times, so a burst a big fleet absorbs does not pass for capacity', async () => {
    // 16 pods of 64 sequences take 1,024 requests into their batches at once: a fixed 40 arrivals
    // per pod at any rate is a burst that neither the queue nor the TPOT test notices.
    const asked: number[] = [];
    const at = (rate: number, minSeconds: number) => {
      asked.push(minSeconds);
      const n = Math.max(40 * 16, Math.min(Math.ceil(rate * minSeconds), 400 * 16));
      return parseScenario(`
name: cal
seed: 3
fleet: { pods: 16, engine: { maxNumSeqs: 64 } }
workload: { input: 100, output: 60 }
arrivals: { stages: [ { rate: ${rate}, duration: ${(n / rate).toFixed(4)} } ] }
maxRequests: ${2 * n}
drain: 120
`);
    };
    const opts = { start: 8, growth: 2, bisections: 1, slowdown: 1.5, slackMs: 250, tpotSlowdown: 3 };
    const burst = await calibrateCapacity(at, { ...opts, minServiceTimes: 0 });
    expect(asked.every((m) => m === 0)).toBe(true);
    asked.length = 0;
    const sustained = await calibrateCapacity(at, { ...opts, minServiceTimes: 4 });
    expect(asked[0]).toBe(0);
    expect(sustained.serviceMs).toBeGreaterThan(0);
    expect(asked.slice(1).every((m) => m === (4 * sustained.serviceMs) / 1000)).toBe(true);
    // The sustained ladder stops far lower: the burst ladder's rate is not one the fleet keeps up with.
    expect(sustained.capacity).toBeLessThan(burst.capacity / 2);
  });
});


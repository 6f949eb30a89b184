import { describe, expect, it } from 'vitest';
import { TokenBudgets } from '../../src/admission/token-budget.js';
import { parseConfig } from '../../src/config/load.js';
import type { SwitchboardError } from '../../src/errors.js';
import { admissionRequest } from '../support/admission.js';
import { ManualClock } from '../support/pool.js';

function budgets(yaml: string) {
  const clock = new ManualClock();
  const charged: string[] = [];
  const rejected: string[] = [];
  const b = new TokenBudgets(parseConfig(`tokenBudgets: ${yaml}`).tokenBudgets!, clock, {
    budgetCharge: (f, i, o) => charged.push(`${f}:${i}/${o}`),
    budgetRejected: (f, d) => rejected.push(`${f}:${d}`),
  });
  return { b, clock, charged, rejected };
}
const usage = (prompt: number, completion: number) => ({ promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion, cachedTokens: 0 });
const req = (fairnessId: string) => admissionRequest({ fairnessId });

describe('token budgets', () => {
  it('admits until usage charged at completion spends the budget, then 429 with retry-after until it refills', () => {
    const t = budgets('{default: {inputTokensPerMinute: 600}}');
    expect(t.b.check(req('a'))).toBeNull();
    t.b.charge(req('a'), usage(500, 50));
    expect(t.b.check(req('a'))).toBeNull(); // 100 left
    t.b.charge(req('a'), usage(400, 50)); // overshoot: -300 (charged after the fact, as Envoy AI Gateway does)
    const err = t.b.check(req('a')) as SwitchboardError;
    expect([err.status, err.code, err.message]).toEqual([429, 'SB_ERR_RATE_LIMITED', 'token budget exceeded for flow a (input tokens per minute)']);
    // 301 tokens at 10 tokens/s: 30.1 s -> 31.
    expect(err.retryAfterSeconds).toBe(31);
    t.clock.advance(30_000);
    expect(t.b.check(req('a'))).not.toBeNull();
    t.clock.advance(1_000);
    expect(t.b.check(req('a'))).toBeNull();
    expect(t.rejected).toEqual(['a:input', 'a:input']);
  });

  it('keeps flows apart, applies per-flow limits, and limits output separately', () => {
    const t = budgets('{default: {outputTokensPerMinute: 60}, flows: [{fairnessId: vip, outputTokensPerMinute: 6000}]}');
    t.b.charge(req('a'), usage(10_000, 100));
    t.b.charge(req('vip'), usage(10_000, 100));
    expect((t.b.check(req('a')) as SwitchboardError).message).toMatch(/flow a \(output tokens per minute\)/);
    expect((t.b.check(req('a')) as SwitchboardError).retryAfterSeconds).toBe(41);
    expect(t.b.check(req('b'))).toBeNull();
    expect(t.b.check(req('vip'))).toBeNull();
  });

  it('leaves flows without an entry unlimited when there is no default', () => {
    const t = budgets('{flows: [{fairnessId: small, inputTokensPerMinute: 1}]}');
    t.b.charge(req('other'), usage(1e9, 1e9));
    expect(t.b.check(req('other'))).toBeNull();
    expect(t.charged).toEqual([]);
  });

  it('charges the prompt estimate when the response had no usage', () => {
    const t = budgets('{default: {inputTokensPerMinute: 1}}');
    const r = req('a');
    t.b.charge(r, null);
    expect(t.charged).toEqual([`a:${Math.ceil((r.promptEnd - r.promptStart) / 4)}/0`]);
  });

  it('never refills beyond one minute of budget', () => {
    const t = budgets('{default: {inputTokensPerMinute: 60}}');
    expect(t.b.check(req('a'))).toBeNull();
    t.clock.advance(3_600_000);
    t.b.charge(req('a'), usage(61, 0));
    expect(t.b.check(req('a'))).not.toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import type { Admission } from '../../src/admission/admission.js';
import { LegacyAdmission } from '../../src/admission/plugins/legacy-admission-gate/index.js';
import { GuardChain } from '../../src/admission/guards/guard-chain.js';
import { LocalPolicyGuard, localPolicySettings } from '../../src/admission/plugins/local-policy/index.js';
import { Params } from '../../src/framework/params.js';
import { AdmissionPipeline } from '../../src/admission/pipeline.js';
import { TokenBudgets } from '../../src/admission/token-budget.js';
import { parseConfig } from '../../src/config/load.js';
import type { SwitchboardError } from '../../src/errors.js';
import { admissionRequest, CapacityDetector } from '../support/admission.js';
import { ManualClock, makePool } from '../support/pool.js';

/** A gate that records what reached it. */
function recordingGate(): Admission & { seen: string[]; done: string[] } {
  const seen: string[] = [];
  const done: string[] = [];
  return { seen, done, admit: (r) => (seen.push(r.requestId), null), finished: (r) => void done.push(r.requestId) };
}

describe('admission pipeline', () => {
  const cfg = parseConfig("promptGuards: [{type: local-policy, denyPatterns: ['forbidden']}]\ntokenBudgets: {default: {inputTokensPerMinute: 10}}");
  const guard = new GuardChain([new LocalPolicyGuard(localPolicySettings(cfg.promptGuards[0].name, new Params(cfg.promptGuards[0].name, cfg.promptGuards[0].parameters)))], null);

  it('runs guards, then budgets, then the gate; a refusal stops the line', () => {
    const gate = recordingGate();
    const budgets = new TokenBudgets(cfg.tokenBudgets!, new ManualClock());
    const p = new AdmissionPipeline(guard, budgets, gate);
    expect((p.admit(admissionRequest({ requestId: 'bad', prompt: 'forbidden' })) as SwitchboardError).status).toBe(403);
    expect(p.admit(admissionRequest({ requestId: 'ok' }))).toBeNull();
    p.finished(admissionRequest({ requestId: 'ok' }), { promptTokens: 50, completionTokens: 0, totalTokens: 50, cachedTokens: 0 }, false);
    expect((p.admit(admissionRequest({ requestId: 'over' })) as SwitchboardError).status).toBe(429);
    expect(gate.seen).toEqual(['ok']);
    expect(gate.done).toEqual(['ok']);
  });

  it('lets the director skip admission only for the plain legacy path and non-sheddable priorities', () => {
    const legacy = new LegacyAdmission(makePool([{}]), new CapacityDetector(1));
    expect([legacy.bypass(0), legacy.bypass(5), legacy.bypass(-1)]).toEqual([true, true, false]);
    expect(new AdmissionPipeline(null, null, legacy).bypass(0)).toBe(true);
    expect(new AdmissionPipeline(guard, null, legacy).bypass(0)).toBe(false);
    expect(new AdmissionPipeline(null, null, recordingGate()).bypass(0)).toBe(false);
  });
});

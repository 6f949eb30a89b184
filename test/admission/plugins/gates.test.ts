/**
 * Admission gates (extension point `admission-gate`): the two in-tree gates opened through
 * their factories, and how admission chooses its gate (a declared gate, else the feature gate).
 */
import { describe, expect, it } from 'vitest';
import { buildAdmission } from '../../../src/admission/build.js';
import { FlowController } from '../../../src/admission/flow-controller.js';
import type { AdmissionGatePlugin, GateServices } from '../../../src/admission/framework/gate.js';
import { flowControlGate } from '../../../src/admission/plugins/flow-control-gate/index.js';
import { LegacyAdmission, legacyAdmissionGate } from '../../../src/admission/plugins/legacy-admission-gate/index.js';
import { registerBuiltinPlugins } from '../../../src/builtin-plugins.js';
import { parseConfig } from '../../../src/config/load.js';
import { sbError, type SwitchboardError } from '../../../src/errors.js';
import { instantiatePlugins } from '../../../src/framework/instantiate.js';
import { Params } from '../../../src/framework/params.js';
import { admissionRequest, builtinPolicies, CapacityDetector, ManualTimers } from '../../support/admission.js';
import { ManualClock, makePool, seeded } from '../../support/pool.js';

function services(capacity: number, flowControl = '{}'): GateServices & { detector: CapacityDetector } {
  const clock = new ManualClock();
  const pool = makePool([{}], clock);
  return {
    pool,
    detector: new CapacityDetector(capacity),
    timers: new ManualTimers(clock),
    flowControl: parseConfig(`featureGates: [flowControl]\nflowControl: ${flowControl}`).flowControl!,
    policies: builtinPolicies(),
    observer: null,
  };
}

const code = (v: unknown): string | null => (v === null ? null : (v as SwitchboardError).code);

describe('legacy-admission-gate', () => {
  const gate = legacyAdmissionGate('legacy', new Params('legacy', {}), { pool: makePool([{}]), rng: seeded() });

  it.each([
    { priority: -1, busy: 1, verdict: 'SB_ERR_SHED' },
    { priority: -1, busy: 0, verdict: null },
    { priority: 0, busy: 1, verdict: null },
    { priority: 3, busy: 5, verdict: null },
  ])('priority $priority with $busy busy of 1: $verdict', ({ priority, busy, verdict }) => {
    const s = services(1);
    s.detector.busy = busy;
    expect(code(gate.open(s).admit(admissionRequest({ priority })))).toBe(verdict);
  });

  it('lets the director skip admission for non-sheddable priorities only', () => {
    const g = gate.open(services(1));
    expect([g.bypass?.(0), g.bypass?.(2), g.bypass?.(-1)]).toEqual([true, true, false]);
  });
});

describe('flow-control-gate', () => {
  it('queues while saturated and refuses past the queue limit', async () => {
    const s = services(1, '{maxRequests: 1}');
    s.detector.busy = 1;
    const g = flowControlGate('fc', new Params('fc', {}), { pool: s.pool, rng: seeded() }).open(s);
    expect(g).toBeInstanceOf(FlowController);
    const first = g.admit(admissionRequest({ requestId: 'a' }));
    expect(first).toBeInstanceOf(Promise);
    expect(code(await g.admit(admissionRequest({ requestId: 'b' })))).toBe('SB_ERR_QUEUE_FULL');
    s.detector.busy = 0;
    g.finished?.(admissionRequest({ requestId: 'earlier' }), null, false); // capacity came back
    expect(await first).toBeNull();
  });
});

describe('choosing the gate', () => {
  const build = (yaml: string, extra?: (r: ReturnType<typeof registerBuiltinPlugins>) => void) => {
    const cfg = parseConfig(yaml);
    const registry = registerBuiltinPlugins();
    extra?.(registry);
    const pool = makePool([{}]);
    const handle = { pool, rng: seeded() };
    const plugins = instantiatePlugins(cfg.plugins, registry, handle, []);
    return buildAdmission(cfg, { pool, detector: new CapacityDetector(1), timers: new ManualTimers(new ManualClock()), observer: null, registry, plugins, handle });
  };
  const denyAll = (r: ReturnType<typeof registerBuiltinPlugins>) =>
    r.register('deny-all-gate', 'admission-gate', (name): AdmissionGatePlugin => ({
      typedName: { type: 'deny-all-gate', name },
      open: () => ({ admit: () => sbError('SB_ERR_SHED') }),
    }));

  it('defaults to legacy shedding, and to flow control under the flowControl feature gate', () => {
    expect(build('{}').pipeline.gate).toBeInstanceOf(LegacyAdmission);
    const fc = build('featureGates: [flowControl]');
    expect(fc.pipeline.gate).toBeInstanceOf(FlowController);
    expect(fc.flowControl).toBe(fc.pipeline.gate);
  });

  it('uses a gate the config declares, whatever the feature gates', () => {
    const built = build('featureGates: [flowControl]\nplugins: [{type: deny-all-gate}]', denyAll);
    expect(code(built.pipeline.admit(admissionRequest({ priority: 5 })))).toBe('SB_ERR_SHED');
    expect(built.flowControl).toBeNull();
  });

  it('refuses two declared gates, naming both', () => {
    expect(() => build('plugins: [{type: deny-all-gate, name: one}, {type: legacy-admission-gate, name: two}]', denyAll)).toThrow(
      'invalid config: config: plugins: more than one admission gate (one, two); declare at most one',
    );
  });
});

/** `flow-control-gate`: queueing with fairness while the pool is saturated (the Go EPP's `flowControl` feature). See README.md. */
import type { Factory } from '../../../framework/plugin.js';
import { FlowController } from '../../flow-controller.js';
import type { AdmissionGatePlugin } from '../../framework/gate.js';

export const FLOW_CONTROL_GATE = 'flow-control-gate';

export const flowControlGate: Factory<AdmissionGatePlugin> = (name) => ({
  typedName: { type: FLOW_CONTROL_GATE, name },
  open: (s) =>
    new FlowController({
      pool: s.pool,
      detector: s.detector,
      spec: s.flowControl,
      timers: s.timers,
      observer: s.observer,
      policies: s.policies,
    }),
});

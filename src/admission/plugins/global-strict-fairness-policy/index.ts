/**
 * `global-strict-fairness-policy` (the Go EPP's default): the flow whose head request comes first
 * under the ordering policy goes next, so the band behaves as one FCFS (or EDF) queue. See README.md.
 */
import type { Factory } from '../../../framework/plugin.js';
import type { FairnessPolicy, Flow, FlowPicker, QueuedRequest } from '../../framework/flow.js';

export const GLOBAL_STRICT_FAIRNESS_POLICY = 'global-strict-fairness-policy';

const picker: FlowPicker = {
  next(flows: readonly Flow[]): QueuedRequest | null {
    let best: QueuedRequest | null = null;
    for (let i = 0; i < flows.length; i++) {
      const head = flows[i].queue.peek();
      if (head !== null && (best === null || head.flow.queue.before(head, best))) best = head;
    }
    return best;
  },
  dispatched() {},
  removed() {},
};

export const globalStrictFairnessPolicy: Factory<FairnessPolicy> = (name) => ({
  typedName: { type: GLOBAL_STRICT_FAIRNESS_POLICY, name },
  newPicker: () => picker, // stateless: one picker serves every band
});

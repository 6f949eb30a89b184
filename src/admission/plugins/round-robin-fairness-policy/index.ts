/**
 * `round-robin-fairness-policy`: backlogged flows take turns, one dispatch each, so a tenant
 * sending ten times more requests gets the same share of dispatches as any other. See README.md.
 */
import type { Factory } from '../../../framework/plugin.js';
import type { FairnessPolicy, Flow, FlowPicker, QueuedRequest } from '../../framework/flow.js';

export const ROUND_ROBIN_FAIRNESS_POLICY = 'round-robin-fairness-policy';

/** One band's rotation. */
class RoundRobin implements FlowPicker {
  private cursor = 0;

  next(flows: readonly Flow[]): QueuedRequest | null {
    return flows.length === 0 ? null : flows[this.cursor].queue.peek();
  }

  dispatched(flows: readonly Flow[], item: QueuedRequest): void {
    if (flows[this.cursor] === item.flow) this.cursor = (this.cursor + 1) % flows.length;
  }

  removed(flows: readonly Flow[], index: number): void {
    if (index < this.cursor) this.cursor--;
    if (this.cursor >= flows.length) this.cursor = 0;
  }
}

export const roundRobinFairnessPolicy: Factory<FairnessPolicy> = (name) => ({
  typedName: { type: ROUND_ROBIN_FAIRNESS_POLICY, name },
  newPicker: () => new RoundRobin(),
});

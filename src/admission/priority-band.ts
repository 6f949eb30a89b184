/**
 * One priority band of flow control: its flows, its limits, and the fairness policy's picker
 * that chooses which flow goes next (the ordering policy makes each flow's queue).
 *
 * A flow exists only while it has queued requests, so client-chosen fairness ids cannot grow
 * state beyond what the queue limits allow.
 */
import type { PriorityBandSpec } from '../config/types.js';
import { Flow, type FairnessPolicy, type FlowPicker, type OrderingPolicy, type QueuedRequest } from './framework/flow.js';

export class PriorityBand {
  /** Live requests and their bytes. */
  live = 0;
  bytes = 0;
  private readonly flows = new Map<string, Flow>();
  /** Flows with live requests, in arrival order. */
  private readonly ring: Flow[] = [];
  private readonly picker: FlowPicker;

  constructor(
    readonly spec: PriorityBandSpec,
    fairness: FairnessPolicy,
    private readonly ordering: OrderingPolicy,
  ) {
    this.picker = fairness.newPicker();
  }

  get priority(): number {
    return this.spec.priority;
  }

  /** Why one more request of `bytes` from flow `flowId` would exceed this band's limits, or null. */
  overLimit(bytes: number, flowId: string): string | null {
    const s = this.spec;
    if (s.maxRequests > 0 && this.live + 1 > s.maxRequests) return `priority band ${s.priority} holds ${s.maxRequests} requests`;
    if (s.maxRequestsPerFlow > 0 && (this.flows.get(flowId)?.live ?? 0) + 1 > s.maxRequestsPerFlow)
      return `flow ${flowId} holds ${s.maxRequestsPerFlow} requests in priority band ${s.priority}`;
    if (bytes > 0 && this.bytes + bytes > s.maxBytes) return `priority band ${s.priority} holds ${s.maxBytes} bytes`;
    return null;
  }

  /** The flow for `id`, created (and joined to the rotation) when absent. */
  flow(id: string): Flow {
    let f = this.flows.get(id);
    if (f === undefined) {
      f = new Flow(id, this.ordering.newQueue());
      this.flows.set(id, f);
      this.ring.push(f);
    }
    return f;
  }

  /** Counts a request added to `item.flow`. */
  added(item: QueuedRequest): void {
    const f = item.flow;
    f.queue.push(item);
    f.live++;
    f.bytes += item.req.bytes;
    this.live++;
    this.bytes += item.req.bytes;
  }

  /** Uncounts a request that left `item.flow` (dispatched or evicted); drops an emptied flow. */
  removed(item: QueuedRequest): void {
    const f = item.flow;
    f.live--;
    f.bytes -= item.req.bytes;
    this.live--;
    this.bytes -= item.req.bytes;
    if (f.live > 0) {
      f.tidy();
      return;
    }
    this.flows.delete(f.id);
    const i = this.ring.indexOf(f);
    this.ring.splice(i, 1);
    this.picker.removed(this.ring, i);
  }

  /** The request the fairness policy sends next, or null when the band is empty. */
  next(): QueuedRequest | null {
    return this.ring.length === 0 ? null : this.picker.next(this.ring);
  }

  /** `item` (from `next`) is leaving: pops it and moves the rotation on. */
  dispatched(item: QueuedRequest): void {
    item.flow.queue.pop();
    this.picker.dispatched(this.ring, item);
  }
}

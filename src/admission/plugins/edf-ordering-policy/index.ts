/** `edf-ordering-policy`: a flow's requests leave earliest deadline first. See README.md. */
import type { Factory } from '../../../framework/plugin.js';
import { BinaryHeap } from '../../../util/heap.js';
import type { FlowQueue, OrderingPolicy, QueuedRequest } from '../../framework/flow.js';

export const EDF_ORDERING_POLICY = 'edf-ordering-policy';

/** Earliest deadline (enqueue time + TTL) first: a binary min-heap; FCFS among equal deadlines. */
export class EdfQueue implements FlowQueue {
  private readonly heap = new BinaryHeap<QueuedRequest>(edfBefore);

  push(item: QueuedRequest): void {
    this.heap.push(item);
  }

  peek(): QueuedRequest | null {
    while (this.heap.size > 0 && !(this.heap.peek() as QueuedRequest).live) this.heap.pop();
    return this.heap.peek() ?? null;
  }

  pop(): QueuedRequest | null {
    const item = this.peek();
    if (item !== null) this.heap.pop();
    return item;
  }

  before(a: QueuedRequest, b: QueuedRequest): boolean {
    return edfBefore(a, b);
  }

  compact(): void {
    this.heap.retain((i) => i.live);
  }

  get held(): number {
    return this.heap.size;
  }
}

function edfBefore(a: QueuedRequest, b: QueuedRequest): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
}

export const edfOrderingPolicy: Factory<OrderingPolicy> = (name) => ({
  typedName: { type: EDF_ORDERING_POLICY, name },
  newQueue: () => new EdfQueue(),
});

/** `edf-ordering-policy`: a flow's requests leave earliest deadline first. See README.md. */
import type { Factory } from '../../../framework/plugin.js';
import type { FlowQueue, OrderingPolicy, QueuedRequest } from '../../framework/flow.js';

export const EDF_ORDERING_POLICY = 'edf-ordering-policy';

/** Earliest deadline (enqueue time + TTL) first: a binary min-heap; FCFS among equal deadlines. */
export class EdfQueue implements FlowQueue {
  private heap: QueuedRequest[] = [];

  push(item: QueuedRequest): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(item, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = item;
  }

  peek(): QueuedRequest | null {
    while (this.heap.length > 0 && !this.heap[0].live) this.removeTop();
    return this.heap.length > 0 ? this.heap[0] : null;
  }

  pop(): QueuedRequest | null {
    const item = this.peek();
    if (item !== null) this.removeTop();
    return item;
  }

  before(a: QueuedRequest, b: QueuedRequest): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  compact(): void {
    const live = this.heap.filter((i) => i.live);
    this.heap = [];
    for (const i of live) this.push(i);
  }

  get held(): number {
    return this.heap.length;
  }

  private removeTop(): void {
    const h = this.heap;
    const last = h.pop() as QueuedRequest;
    if (h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.before(h[r], h[l]) ? r : l;
      if (!this.before(h[c], last)) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
  }
}

export const edfOrderingPolicy: Factory<OrderingPolicy> = (name) => ({
  typedName: { type: EDF_ORDERING_POLICY, name },
  newQueue: () => new EdfQueue(),
});

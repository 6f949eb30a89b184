/** `fcfs-ordering-policy`: a flow's requests leave in arrival order. See README.md. */
import type { Factory } from '../../../framework/plugin.js';
import type { FlowQueue, OrderingPolicy, QueuedRequest } from '../../framework/flow.js';

export const FCFS_ORDERING_POLICY = 'fcfs-ordering-policy';

/** First come, first served: an array with a moving head. */
export class FcfsQueue implements FlowQueue {
  private items: QueuedRequest[] = [];
  private head = 0;

  push(item: QueuedRequest): void {
    this.items.push(item);
  }

  peek(): QueuedRequest | null {
    const items = this.items;
    while (this.head < items.length && !items[this.head].live) this.head++;
    if (this.head > 64 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
    return this.head < this.items.length ? this.items[this.head] : null;
  }

  pop(): QueuedRequest | null {
    const item = this.peek();
    if (item !== null) this.head++;
    return item;
  }

  before(a: QueuedRequest, b: QueuedRequest): boolean {
    return a.seq < b.seq;
  }

  /** Drops dead entries behind the head (many clients gave up behind a long-waiting one). */
  compact(): void {
    this.items = this.items.slice(this.head).filter((i) => i.live);
    this.head = 0;
  }

  /** Entries held, dead ones included. */
  get held(): number {
    return this.items.length - this.head;
  }
}

export const fcfsOrderingPolicy: Factory<OrderingPolicy> = (name) => ({
  typedName: { type: FCFS_ORDERING_POLICY, name },
  newQueue: () => new FcfsQueue(),
});

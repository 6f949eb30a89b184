/**
 * The data structures of flow control: a queued request, the per-flow queue in the order its
 * ordering policy defines (FCFS or earliest deadline first), and a flow.
 *
 * Removal from the middle (a client went away, a TTL expired) is lazy: the request is marked
 * done and the queue skips it when it reaches the head, compacting once dead entries outnumber
 * live ones, so an abort costs O(1) and memory stays proportional to what is really queued.
 */
import type { OrderingPolicyType } from '../config/types.js';
import type { SwitchboardError } from '../errors.js';
import type { AdmissionRequest } from './admission.js';

/** One request waiting in flow control. */
export class QueuedRequest {
  /** False once dispatched, rejected or evicted. */
  live = true;
  /** Removes the client-abort listener, or null. */
  unlisten: (() => void) | null = null;

  constructor(
    readonly req: AdmissionRequest,
    readonly flow: Flow,
    /** Clock time it was enqueued. */
    readonly enqueuedAt: number,
    /** Clock time its TTL ends (Infinity without a TTL). */
    readonly deadline: number,
    /** Arrival order, for FCFS and tie-breaks. */
    readonly seq: number,
    readonly resolve: (verdict: SwitchboardError | null) => void,
  ) {}
}

/** Requests of one flow in the order they leave. */
export interface FlowQueue {
  push(item: QueuedRequest): void;
  /** The next live request, or null. */
  peek(): QueuedRequest | null;
  /** Removes and returns the next live request, or null. */
  pop(): QueuedRequest | null;
  /** Whether `a` leaves before `b` under this queue's ordering (global-strict fairness compares heads). */
  before(a: QueuedRequest, b: QueuedRequest): boolean;
}

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

/** A queue for `ordering`. */
export function newFlowQueue(ordering: OrderingPolicyType): FcfsQueue | EdfQueue {
  return ordering === 'edf-ordering-policy' ? new EdfQueue() : new FcfsQueue();
}

/** The queued requests of one fairness id at one priority. */
export class Flow {
  /** Live requests and their bytes. */
  live = 0;
  bytes = 0;
  readonly queue: FcfsQueue | EdfQueue;

  constructor(
    readonly id: string,
    ordering: OrderingPolicyType,
  ) {
    this.queue = newFlowQueue(ordering);
  }

  /** Compacts the queue when dead entries outnumber live ones by far. */
  tidy(): void {
    if (this.queue.held > 2 * this.live + 64) this.queue.compact();
  }
}

/**
 * Flow-control contracts: a queued request, a flow (the requests of one fairness id in one
 * priority band), and the two policies that order them: the ordering policy makes each flow's
 * queue (which request of a flow goes next), the fairness policy picks which flow of a band goes
 * next. Implementations are plugins (admission/plugins/*-ordering-policy, *-fairness-policy),
 * referenced from a band's `orderingPolicyRef` / `fairnessPolicyRef`, as in the Go EPP.
 *
 * Removal from the middle (a client went away, a TTL expired) is lazy: the request is marked
 * done and the queue skips it when it reaches the head, compacting once dead entries outnumber
 * live ones, so an abort costs O(1) and memory stays proportional to what is really queued.
 */
import type { SwitchboardError } from '../../errors.js';
import type { Plugin } from '../../framework/plugin.js';
import type { AdmissionRequest } from './admission-request.js';

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
  /** Drops dead entries. */
  compact(): void;
  /** Entries held, dead ones included. */
  readonly held: number;
}

/** Which request of a flow goes next: the policy makes each flow's queue. */
export interface OrderingPolicy extends Plugin {
  newQueue(): FlowQueue;
}

/**
 * Which flow of a band goes next. A band holds one picker (its state, e.g. a round-robin
 * cursor) over its flows with live requests, kept in arrival order.
 */
export interface FlowPicker {
  /** The request to send next from `flows`, or null when there is none. */
  next(flows: readonly Flow[]): QueuedRequest | null;
  /** `item` (from `next`) left. */
  dispatched(flows: readonly Flow[], item: QueuedRequest): void;
  /** The flow at `index` emptied and was removed from `flows`. */
  removed(flows: readonly Flow[], index: number): void;
}

/** Makes a band's flow picker. */
export interface FairnessPolicy extends Plugin {
  newPicker(): FlowPicker;
}

export function isOrderingPolicy(p: Plugin): p is OrderingPolicy {
  return typeof (p as Partial<OrderingPolicy>).newQueue === 'function';
}

export function isFairnessPolicy(p: Plugin): p is FairnessPolicy {
  return typeof (p as Partial<FairnessPolicy>).newPicker === 'function';
}

/** The queued requests of one fairness id at one priority. */
export class Flow {
  /** Live requests and their bytes. */
  live = 0;
  bytes = 0;
  constructor(
    readonly id: string,
    /** Its requests, in the order the band's ordering policy defines. */
    readonly queue: FlowQueue,
  ) {}

  /** Compacts the queue when dead entries outnumber live ones by far. */
  tidy(): void {
    if (this.queue.held > 2 * this.live + 64) this.queue.compact();
  }
}

/** How a request left flow control (the Go EPP's outcome names, used as metric labels). */
export type QueueOutcome = 'Dispatched' | 'RejectedCapacity' | 'EvictedTTL' | 'EvictedContextCancelled';

/** Metrics sink of flow control. */
export interface FlowControlObserver {
  /** The requests (bytes) queued for `req`'s flow changed by `requests` (`bytes`). */
  queueChanged(req: AdmissionRequest, requests: number, bytes: number): void;
  /** `req` left flow control after `seconds`. */
  left(req: AdmissionRequest, outcome: QueueOutcome, seconds: number): void;
  /** One dispatch cycle took `seconds`. */
  dispatchCycle(seconds: number): void;
}

/** Resolves a band's policy references to plugin instances. */
export interface FlowPolicies {
  fairness(ref: string): FairnessPolicy;
  ordering(ref: string): OrderingPolicy;
}

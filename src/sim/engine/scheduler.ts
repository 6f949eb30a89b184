/**
 * The clock and timer abstraction that drives the engine model.
 *
 * The engine only ever asks "what time is it" and "call me at time t", so the same code runs
 * behind real HTTP servers (wall-clock timers) and inside the scorecard (a discrete-event queue
 * in virtual time). Times are milliseconds.
 */
import { BinaryHeap } from '../../util/heap.js';

/** A pending timer; `cancel` it through the scheduler that made it. */
export interface TimerHandle {
  readonly at: number;
}

/** What the engine needs from time. */
export interface SimScheduler {
  /** Current time, ms. */
  now(): number;
  /** Runs `fn` at time `at` (or as soon as possible when `at` is in the past). */
  at(at: number, fn: () => void): TimerHandle;
  /** Cancels a timer that has not fired; a no-op otherwise. */
  cancel(handle: TimerHandle): void;
}

interface VirtualEvent extends TimerHandle {
  at: number;
  seq: number;
  fn: (() => void) | null;
}

/**
 * Discrete-event scheduler in virtual time: a binary min-heap of (time, insertion order).
 * Events at equal times run in the order they were scheduled, so runs are deterministic.
 */
export class VirtualScheduler implements SimScheduler {
  private readonly heap = new BinaryHeap<VirtualEvent>(before);
  private seq = 0;
  private time = 0;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  /** Number of pending events (cancelled ones included until they surface). */
  get pending(): number {
    return this.heap.size;
  }

  at(at: number, fn: () => void): TimerHandle {
    const ev: VirtualEvent = { at: at < this.time ? this.time : at, seq: this.seq++, fn };
    this.heap.push(ev);
    return ev;
  }

  cancel(handle: TimerHandle): void {
    (handle as VirtualEvent).fn = null;
  }

  /** Time of the next event, or Infinity when none is pending. */
  peekTime(): number {
    return this.heap.peek()?.at ?? Infinity;
  }

  /** Runs the next event; returns false when none is pending. */
  step(): boolean {
    const ev = this.heap.pop();
    if (ev === undefined) return false;
    this.time = ev.at;
    const fn = ev.fn;
    if (fn !== null) {
      ev.fn = null;
      fn();
    }
    return true;
  }

  /** Runs events until the queue is empty or the next event is after `limit`; returns events run. */
  runUntil(limit: number): number {
    let n = 0;
    while (this.heap.size > 0 && (this.heap.peek() as VirtualEvent).at <= limit) {
      this.step();
      n++;
    }
    if (this.time < limit && Number.isFinite(limit) && this.heap.size === 0) this.time = limit;
    return n;
  }

  /** Moves time forward to `t` without running anything (only if no event is earlier). */
  advanceTo(t: number): void {
    if (t > this.time && this.peekTime() >= t) this.time = t;
  }
}

function before(a: VirtualEvent, b: VirtualEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

interface RealTimer extends TimerHandle {
  timer: NodeJS.Timeout;
}

/** Wall-clock scheduler: `performance.now()` and `setTimeout`. */
export class RealTimeScheduler implements SimScheduler {
  private readonly timers = new Set<RealTimer>();

  now(): number {
    return performance.now();
  }

  at(at: number, fn: () => void): TimerHandle {
    const handle: RealTimer = {
      at,
      timer: setTimeout(() => {
        this.timers.delete(handle);
        fn();
      }, Math.max(0, at - performance.now())),
    };
    this.timers.add(handle);
    return handle;
  }

  cancel(handle: TimerHandle): void {
    const t = handle as RealTimer;
    clearTimeout(t.timer);
    this.timers.delete(t);
  }

  /** Cancels every pending timer (server shutdown). */
  cancelAll(): void {
    for (const t of this.timers) clearTimeout(t.timer);
    this.timers.clear();
  }
}

/**
 * One endpoint's event stream: puts messages in sequence order, detects gaps, asks for replay,
 * and decides when the endpoint's precise state can be trusted. No sockets here (the ZMQ
 * subscriber feeds it), so every rule is testable with plain calls.
 *
 * - In order (seq = last + 1): applied.
 * - Ahead: held for `reorderGraceMs` in case the missing ones arrive (then applied in order);
 *   after that a gap: replay from the first missing seq when a replay socket is configured,
 *   else the endpoint turns unreliable.
 * - Behind: a replayed or repeated message is dropped; a jump back to 0 or by more than
 *   `restartWindow` is a restarted publisher: the endpoint's state is reset.
 * - Out of sequence right after the connection dropped: a restarted publisher too (its first
 *   messages may be lost to ZMQ's slow joiner, so the sequence may even look ahead).
 * - Unreliable: the state is cleared (stale blocks would mislead) and rebuilt from new events;
 *   the scorer serves the endpoint from the approximate index until it has stored as many blocks
 *   as the endpoint holds (its old blocks are gone by then), or a restart or AllBlocksCleared
 *   gives a known-complete state.
 */
import { decodeBatch, type DecodeLimits, type DropReason, DEFAULT_DECODE_LIMITS } from './decode.js';
import type { PreciseIndex } from './precise-index.js';

/** Reasons a message is dropped at the stream (besides payload decode reasons). */
export type StreamDropReason = DropReason | 'duplicate' | 'bad_frames' | 'overflow';

/** A point in an endpoint's stream history, for counters and /debug/endpoints. */
export interface StreamStatus {
  lastSeq: number;
  batches: number;
  gaps: number;
  /** Replays started, and those that recovered every missing batch. */
  replays: number;
  replaysRecovered: number;
  /** Resets: publisher restarts and AllBlocksCleared. */
  resyncs: number;
  reliable: boolean;
  dropped: Partial<Record<StreamDropReason, number>>;
}

export interface EventStreamOptions {
  /** Asks the publisher's replay socket for every batch from `from` on; null when none is configured. */
  replay: ((from: number) => void) | null;
  reorderGraceMs: number;
  restartWindow: number;
  /** Most out-of-order messages held; beyond it the gap is declared at once. */
  maxPending: number;
  limits: DecodeLimits;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(t: unknown): void;
  /** Called on each dropped message or event (hostile input is counted where it is seen). */
  onDrop?(reason: StreamDropReason): void;
}

export const DEFAULT_STREAM_OPTIONS = {
  reorderGraceMs: 20,
  restartWindow: 1000,
  maxPending: 256,
  limits: DEFAULT_DECODE_LIMITS,
} as const;

export class EventStream {
  readonly status: StreamStatus = { lastSeq: -1, batches: 0, gaps: 0, replays: 0, replaysRecovered: 0, resyncs: 0, reliable: true, dropped: {} };
  private readonly pending = new Map<number, Uint8Array>();
  private timer: unknown = null;
  private replaying = false;
  /** Blocks stored since the state turned unreliable. */
  private rebuilt = 0;
  /** The connection to the publisher dropped since the last message: a sequence going back is a restart. */
  private peerLost = false;

  constructor(
    private readonly slot: number,
    private readonly index: PreciseIndex,
    private readonly capacity: () => number,
    private readonly o: EventStreamOptions,
  ) {}

  /** Whether the scorer may use this endpoint's precise state. */
  get reliable(): boolean {
    return this.status.reliable;
  }

  /** The subscriber lost its connection (the publisher may be restarting). */
  disconnected(): void {
    this.peerLost = true;
  }

  /** A live message. */
  receive(seq: number, payload: Uint8Array): void {
    const st = this.status;
    if (!Number.isSafeInteger(seq) || seq < 0) return this.drop('bad_frames');
    const reconnected = this.peerLost;
    this.peerLost = false;
    if (st.lastSeq < 0 && this.pending.size === 0 && !this.replaying) {
      // First message: a late join is not a gap; replay fetches the history the buffer still has.
      if (seq > 0 && this.o.replay !== null) {
        this.pending.set(seq, payload);
        this.startReplay(0);
        return;
      }
      st.lastSeq = seq - 1;
    }
    const expected = st.lastSeq + 1;
    if (seq === expected) {
      this.apply(seq, payload);
      this.drain();
      return;
    }
    if (reconnected) {
      // Out of sequence right after a reconnect: a new publisher process, not a gap.
      this.restart(seq, payload);
      return;
    }
    if (seq > expected) {
      if (this.pending.size >= this.o.maxPending) {
        this.drop('overflow');
        this.resolveGap();
        return;
      }
      this.pending.set(seq, payload);
      if (!this.replaying && this.timer === null) this.timer = this.o.setTimer(() => this.onGrace(), this.o.reorderGraceMs);
      return;
    }
    // Behind.
    if (seq === 0 || st.lastSeq - seq > this.o.restartWindow) {
      this.restart(seq, payload);
      return;
    }
    this.drop('duplicate');
  }

  /** One batch from the replay socket. */
  replayed(seq: number, payload: Uint8Array): void {
    const st = this.status;
    if (!Number.isSafeInteger(seq) || seq < 0) return this.drop('bad_frames');
    if (st.lastSeq < 0 && seq > 0) {
      // The buffer no longer reaches the start: what came before is lost.
      st.lastSeq = seq - 1;
    }
    if (seq <= st.lastSeq) return; // already applied
    if (seq > st.lastSeq + 1) this.markUnreliable();
    this.pending.delete(seq);
    this.status.lastSeq = seq - 1;
    this.apply(seq, payload);
  }

  /** The replay ended (end marker, or `ok` false on timeout or error). */
  replayFinished(ok: boolean): void {
    if (!this.replaying) return;
    this.replaying = false;
    const st = this.status;
    for (const k of [...this.pending.keys()]) if (k <= st.lastSeq) this.pending.delete(k);
    const missing = this.pending.size > 0 && !this.pending.has(st.lastSeq + 1);
    if (ok && !missing) st.replaysRecovered++;
    this.drain();
    if (this.pending.size > 0) {
      // Still a hole the replay could not fill.
      this.markUnreliable();
      this.skipAhead();
    }
  }

  /** Stops timers (the endpoint left). */
  close(): void {
    if (this.timer !== null) this.o.clearTimer(this.timer);
    this.timer = null;
    this.pending.clear();
  }

  private onGrace(): void {
    this.timer = null;
    if (this.pending.size > 0 && !this.replaying) this.resolveGap();
  }

  private resolveGap(): void {
    if (this.timer !== null) {
      this.o.clearTimer(this.timer);
      this.timer = null;
    }
    if (this.replaying) return;
    this.status.gaps++;
    if (this.o.replay !== null) {
      this.startReplay(this.status.lastSeq + 1);
      return;
    }
    this.markUnreliable();
    this.skipAhead();
  }

  private startReplay(from: number): void {
    this.replaying = true;
    this.status.replays++;
    (this.o.replay as (from: number) => void)(from);
  }

  /** Applies held messages from the smallest on, accepting the hole before them. */
  private skipAhead(): void {
    if (this.pending.size === 0) return;
    this.status.lastSeq = Math.min(...this.pending.keys()) - 1;
    this.drain();
  }

  private drain(): void {
    const st = this.status;
    for (;;) {
      const next = this.pending.get(st.lastSeq + 1);
      if (next === undefined) break;
      this.pending.delete(st.lastSeq + 1);
      this.apply(st.lastSeq + 1, next);
    }
    if (this.pending.size === 0 && this.timer !== null) {
      this.o.clearTimer(this.timer);
      this.timer = null;
    }
  }

  private restart(seq: number, payload: Uint8Array): void {
    const st = this.status;
    st.resyncs++;
    this.pending.clear();
    this.index.clear(this.slot);
    this.setReliable();
    st.lastSeq = seq - 1;
    this.apply(seq, payload);
    if (seq > 0 && this.o.replay !== null && !this.replaying) this.startReplay(0);
  }

  private apply(seq: number, payload: Uint8Array): void {
    const st = this.status;
    st.lastSeq = seq;
    st.batches++;
    const r = decodeBatch(payload, this.o.limits);
    if (!r.ok) return this.drop(r.reason);
    for (const reason of r.batch.dropped) this.drop(reason);
    const before = this.index.counts.stored;
    for (const e of r.batch.events) {
      if (e.type === 'cleared') {
        st.resyncs++;
        this.setReliable();
      }
      this.index.apply(this.slot, e);
    }
    if (!st.reliable) {
      this.rebuilt += this.index.counts.stored - before;
      if (this.rebuilt >= this.capacity()) this.setReliable();
    }
  }

  private markUnreliable(): void {
    if (this.status.reliable) this.index.clear(this.slot);
    this.status.reliable = false;
    this.rebuilt = 0;
  }

  private setReliable(): void {
    this.status.reliable = true;
    this.rebuilt = 0;
  }

  private drop(reason: StreamDropReason): void {
    const d = this.status.dropped;
    d[reason] = (d[reason] ?? 0) + 1;
    this.o.onDrop?.(reason);
  }
}

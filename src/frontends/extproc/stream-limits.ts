/**
 * Limits that make abuse of the ext_proc port cheap to survive: how many Process streams may be
 * open at once, how many request-body bytes all streams together may hold while they wait for
 * `end_of_stream`, how long a gateway may take to deliver a request, and how long an open
 * stream may stay silent.
 *
 * Deadlines are checked by one sweep timer for all streams instead of a timer per stream: a
 * stream only stores a number per message (a timer per stream cost more than the stream's
 * whole header handling in bench:extproc profiles).
 */

/** Resource limits of the ext_proc front door (0 disables a limit). */
export interface StreamLimitOptions {
  /** Most Process streams open at once; more are answered 503 at once. */
  maxActiveStreams: number;
  /** Most request-body bytes held by all streams together; a chunk beyond it is answered 503. */
  maxBufferedBytes: number;
  /** Time from stream open to the complete request (headers and body), ms; then 408. */
  requestTimeoutMs: number;
  /** Longest silence of the gateway once the request is routed, ms; then the stream ends. */
  idleTimeoutMs: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimitOptions = {
  maxActiveStreams: 10_000,
  maxBufferedBytes: 512 * 1024 * 1024,
  requestTimeoutMs: 60_000,
  idleTimeoutMs: 600_000,
};

/** What the watchdog needs from a stream. */
export interface Watched {
  /** `performance.now()` after which the stream has waited too long; Infinity for none. */
  deadlineAt: number;
  /** Called once the deadline has passed. */
  expire(now: number): void;
}

/** Shared accounting and deadline sweep for all streams of one server. */
export class StreamLimits {
  readonly options: StreamLimitOptions;
  private readonly streams = new Set<Watched>();
  private buffered = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly tickMs: number;

  constructor(options: Partial<StreamLimitOptions> = {}) {
    this.options = { ...DEFAULT_STREAM_LIMITS, ...options };
    const shortest = Math.min(...[this.options.requestTimeoutMs, this.options.idleTimeoutMs].filter((t) => t > 0), 4000);
    // A deadline fires at most a quarter of the timeout late.
    this.tickMs = Math.max(5, Math.min(1000, Math.floor(shortest / 4)));
  }

  /** Open streams. */
  get active(): number {
    return this.streams.size;
  }

  /** Request-body bytes held now. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Registers a new stream; false when the stream limit is reached (the stream is not registered). */
  open(s: Watched): boolean {
    const max = this.options.maxActiveStreams;
    if (max > 0 && this.streams.size >= max) return false;
    this.streams.add(s);
    if (this.timer === null) this.startSweep();
    return true;
  }

  close(s: Watched): void {
    this.streams.delete(s);
    if (this.streams.size === 0) this.stopSweep();
  }

  /** Reserves `bytes` of body buffer; false when that would exceed the budget. */
  reserve(bytes: number): boolean {
    const max = this.options.maxBufferedBytes;
    if (max > 0 && this.buffered + bytes > max) return false;
    this.buffered += bytes;
    return true;
  }

  release(bytes: number): void {
    this.buffered -= bytes;
  }

  /** Deadline `ms` from now, or Infinity when the limit is off. */
  deadline(ms: number): number {
    return ms > 0 ? performance.now() + ms : Infinity;
  }

  /** Stops the sweep (server shutdown). */
  stop(): void {
    this.stopSweep();
  }

  private startSweep(): void {
    this.timer = setInterval(() => this.sweep(), this.tickMs);
    this.timer.unref();
  }

  private stopSweep(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  private sweep(): void {
    const now = performance.now();
    for (const s of this.streams) if (s.deadlineAt <= now) s.expire(now);
  }
}

/**
 * The endpoint pool: which endpoints exist, their latest metrics laid out in columns for fast
 * scoring, and the picker's own in-flight accounting.
 *
 * Columns are Float64Arrays indexed by an endpoint's slot. Slots are stable while an endpoint is
 * in the pool and are reused only after it leaves, so plugins (the prefix index) can key state by
 * slot and drop it on the `removed` event.
 */
import { Endpoint, EMPTY_SET, type EndpointSpec, type MetricsSnapshot } from './endpoint.js';
import { SCRAPED_SIGNAL_NAMES, SIGNAL_NAMES, SIGNALS, type SignalName, type SignalSpec } from './signals.js';

/** Monotonic milliseconds. Production uses performance.now(); the simulator injects virtual time. */
export interface Clock {
  now(): number;
}

/** The wall-clock-independent system clock. */
export const systemClock: Clock = { now: () => performance.now() };

/** Membership changes, delivered synchronously to subscribers. */
export type PoolEvent =
  | { type: 'added'; endpoint: Endpoint }
  | { type: 'updated'; endpoint: Endpoint; previous: Endpoint }
  | { type: 'removed'; endpoint: Endpoint };

const INITIAL_CAPACITY = 16;

/** Per-slot numeric state; all columns share one capacity. */
const COLUMNS = [
  'waiting',
  'running',
  'kvUsage',
  'maxAdapters',
  'cacheBlockSize',
  'cacheNumBlocks',
  'scrapedAt',
  'inflight',
  'inflightTokens',
  'dispatched',
  'dispatchedAtScrape',
  'dispatchedAtLastMetrics',
  'pendingPrefill',
  'metricsSeq',
] as const;
type Column = (typeof COLUMNS)[number];

export class EndpointPool {
  readonly clock: Clock;
  /** Bumps on every membership change. */
  version = 0;
  /** True once discovery has delivered its first complete view. */
  synced = false;

  /** Waiting-queue size from the latest scrape. */
  waiting!: Float64Array;
  /** Running requests from the latest scrape. */
  running!: Float64Array;
  /** KV-cache utilization 0..1 from the latest scrape. */
  kvUsage!: Float64Array;
  /** max_lora from the latest scrape (0 unknown). */
  maxAdapters!: Float64Array;
  /** KV block size in tokens (0 unknown). */
  cacheBlockSize!: Float64Array;
  /** KV blocks on the device (0 unknown). */
  cacheNumBlocks!: Float64Array;
  /** Clock time of the latest successful scrape; -Infinity before the first. */
  scrapedAt!: Float64Array;
  /** Requests this picker sent and has not seen finish. */
  inflight!: Float64Array;
  /** Estimated tokens (input + expected output) of those requests. */
  inflightTokens!: Float64Array;
  /** Requests ever dispatched to the slot (monotonic). */
  dispatched!: Float64Array;
  /** `dispatched` when the scrape in progress was sent. */
  dispatchedAtScrape!: Float64Array;
  /** `dispatched` when the metrics in use were requested: later dispatches are not in them. */
  dispatchedAtLastMetrics!: Float64Array;
  /** Estimated uncached prompt tokens of in-flight requests that have not produced a token yet. */
  pendingPrefill!: Float64Array;
  /**
   * A pool-wide sequence number of the slot's latest metrics (0: none). Unique across slots and
   * time, so a plugin can cache what it derives from a slot's metrics and know when it is stale,
   * even after the slot is reused by another endpoint.
   */
  metricsSeq!: Float64Array;
  private metricsCount = 0;
  /** One column per declared signal (signals.ts): gauges as reported, counters as a rate per second, observed ones as their hook writes them. */
  readonly signal = {} as Record<SignalName, Float64Array>;
  /** Counters' raw value at the previous scrape, for their rate. */
  private readonly counterLast = {} as Record<SignalName, Float64Array>;

  private capacityValue = 0;
  private readonly slots: Array<Endpoint | null> = [];
  private readonly freeSlots: number[] = [];
  private readonly list: Endpoint[] = [];
  private readonly byKeyMap = new Map<string, Endpoint>();
  private readonly listeners = new Set<(e: PoolEvent) => void>();
  private readonly metricsListeners = new Set<(ep: Endpoint) => void>();

  constructor(clock: Clock = systemClock) {
    this.clock = clock;
    this.grow(INITIAL_CAPACITY);
  }

  /** Length of the column arrays; scratch buffers sized to it cover every slot. */
  get capacity(): number {
    return this.capacityValue;
  }

  /** Number of endpoints. */
  get size(): number {
    return this.list.length;
  }

  /** Endpoints in the order they joined. The array is shared: do not mutate it. */
  endpoints(): readonly Endpoint[] {
    return this.list;
  }

  /** The endpoint with `address:port` key, if present. */
  get(key: string): Endpoint | undefined {
    return this.byKeyMap.get(key);
  }

  /** The endpoint in `slot`, or null. */
  atSlot(slot: number): Endpoint | null {
    return this.slots[slot] ?? null;
  }

  /** Registers a membership listener; returns the unsubscribe function. */
  subscribe(listener: (e: PoolEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Registers a listener called after each recorded scrape (flow control re-checks dispatch); returns the unsubscribe function. */
  onMetrics(listener: (ep: Endpoint) => void): () => void {
    this.metricsListeners.add(listener);
    return () => this.metricsListeners.delete(listener);
  }

  /** Replaces the membership with `specs`: adds new keys, updates changed ones, removes the rest. */
  setEndpoints(specs: readonly EndpointSpec[]): void {
    const seen = new Set<string>();
    for (const spec of specs) seen.add(this.upsert(spec).key);
    for (const ep of [...this.list]) if (!seen.has(ep.key)) this.remove(ep.key);
  }

  /** Adds an endpoint, or updates the one with the same key (keeping its slot and counters). */
  upsert(spec: EndpointSpec): Endpoint {
    const probe = new Endpoint(spec, -1);
    const existing = this.byKeyMap.get(probe.key);
    if (existing !== undefined) {
      if (sameSpec(existing, probe)) return existing;
      probe.slot = existing.slot;
      probe.metrics = existing.metrics;
      Object.assign(probe.health, existing.health);
      this.slots[probe.slot] = probe;
      this.list[this.list.indexOf(existing)] = probe;
      this.byKeyMap.set(probe.key, probe);
      this.version++;
      this.emit({ type: 'updated', endpoint: probe, previous: existing });
      return probe;
    }
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.slots.length;
      if (slot >= this.capacityValue) this.grow(this.capacityValue * 2);
      this.slots.push(null);
    }
    probe.slot = slot;
    this.resetSlot(slot);
    this.slots[slot] = probe;
    this.list.push(probe);
    this.byKeyMap.set(probe.key, probe);
    this.version++;
    this.emit({ type: 'added', endpoint: probe });
    return probe;
  }

  /** Removes the endpoint with `key`; in-flight requests to it finish without accounting. */
  remove(key: string): boolean {
    const ep = this.byKeyMap.get(key);
    if (ep === undefined) return false;
    this.byKeyMap.delete(key);
    this.list.splice(this.list.indexOf(ep), 1);
    this.slots[ep.slot] = null;
    this.emit({ type: 'removed', endpoint: ep });
    this.resetSlot(ep.slot);
    this.freeSlots.push(ep.slot);
    this.version++;
    return true;
  }

  /** Called when a scrape request is sent: dispatches after this point are not in its result. */
  scrapeStarted(ep: Endpoint): void {
    if (this.slots[ep.slot] !== ep) return;
    this.dispatchedAtScrape[ep.slot] = this.dispatched[ep.slot];
  }

  /** Stores a successful scrape's result. */
  recordMetrics(ep: Endpoint, m: MetricsSnapshot): void {
    const s = ep.slot;
    if (this.slots[s] !== ep) return; // removed while the scrape was in flight
    const now = this.clock.now();
    ep.metrics = m;
    ep.health.ok = true;
    ep.health.consecutiveFailures = 0;
    ep.health.lastError = null;
    ep.health.lastSuccessAt = now;
    this.waiting[s] = m.waitingQueueSize;
    this.running[s] = m.runningRequests;
    this.kvUsage[s] = m.kvCacheUsage;
    this.maxAdapters[s] = m.maxAdapters;
    this.cacheBlockSize[s] = m.cacheBlockSize;
    this.cacheNumBlocks[s] = m.cacheNumBlocks;
    const seconds = (now - this.scrapedAt[s]) / 1000;
    // Observed signals (response latencies) are the lifecycle hooks' to write, not the scrape's.
    for (const name of SCRAPED_SIGNAL_NAMES) {
      const v = m.signals?.[name];
      const col = this.signal[name];
      if (v === undefined || !Number.isFinite(v)) {
        col[s] = 0;
        this.counterLast[name][s] = NaN;
      } else if ((SIGNALS[name] as SignalSpec).kind === 'gauge') col[s] = v;
      else {
        const last = this.counterLast[name][s];
        // First sample, or the counter went backwards (a restart): no rate yet.
        col[s] = Number.isFinite(last) && v >= last && seconds > 0 && Number.isFinite(seconds) ? (v - last) / seconds : 0;
        this.counterLast[name][s] = v;
      }
    }
    this.scrapedAt[s] = now;
    this.metricsSeq[s] = ++this.metricsCount;
    this.dispatchedAtLastMetrics[s] = this.dispatchedAtScrape[s];
    for (const l of this.metricsListeners) l(ep);
  }

  /** Records a failed scrape; the previous metrics stay but age toward staleness. */
  recordScrapeFailure(ep: Endpoint, message: string): void {
    if (this.slots[ep.slot] !== ep) return;
    ep.health.ok = false;
    ep.health.consecutiveFailures++;
    ep.health.lastError = message;
  }

  /**
   * Load the latest scrape has not seen yet: requests this picker sent to `slot` after its
   * current metrics were requested and that are still in flight (ones already finished are in
   * no queue). Every scorer, filter and detector that adds unseen load reads this one accessor.
   */
  unseenLoad(slot: number): number {
    const sent = this.dispatched[slot] - this.dispatchedAtLastMetrics[slot];
    const open = this.inflight[slot];
    return sent < open ? sent : open;
  }

  /**
   * An endpoint's load in requests: its last scrape's queue and batch plus what that scrape has not
   * seen, or this picker's own in-flight count when larger (the scrape lags; other pickers'
   * requests show only in the scrape). The decode-headroom filter bounds it (batched there).
   */
  load(slot: number): number {
    const scraped = this.waiting[slot] + this.running[slot] + this.unseenLoad(slot);
    const own = this.inflight[slot];
    return scraped > own ? scraped : own;
  }

  /**
   * Adds `unseenLoad` of `slots[k]` to `out[k]` for k < n: the same accessor for scorers' hot
   * loops, with the columns read once (measured: a per-slot call cost 10-14% of a 1,024-endpoint pick).
   */
  addUnseenLoad(slots: Int32Array, n: number, out: Float64Array): void {
    const sentTotal = this.dispatched;
    const seen = this.dispatchedAtLastMetrics;
    const open = this.inflight;
    for (let k = 0; k < n; k++) {
      const s = slots[k];
      const sent = sentTotal[s] - seen[s];
      const o = open[s];
      out[k] += sent < o ? sent : o;
    }
  }

  /** Whether `slot` has metrics no older than `thresholdMs` at clock time `now`. */
  isFresh(slot: number, now: number, thresholdMs: number): boolean {
    return now - this.scrapedAt[slot] <= thresholdMs;
  }

  /** Counts a request sent to `slot` with an estimated token load. */
  dispatch(slot: number, tokens: number): void {
    this.inflight[slot]++;
    this.inflightTokens[slot] += tokens;
    this.dispatched[slot]++;
  }

  /** Uncounts a finished request; tolerant of slots that were removed and reused meanwhile. */
  complete(ep: Endpoint, tokens: number): void {
    const s = ep.slot;
    if (this.slots[s] !== ep) return;
    this.inflight[s] = Math.max(0, this.inflight[s] - 1);
    this.inflightTokens[s] = Math.max(0, this.inflightTokens[s] - tokens);
  }

  /** Adds a request's uncached prompt tokens to `slot`'s pending prefill work. */
  addPrefill(slot: number, tokens: number): void {
    this.pendingPrefill[slot] += tokens;
  }

  /** Removes prefill work once the request's first token arrived (or it ended). */
  removePrefill(ep: Endpoint, tokens: number): void {
    const s = ep.slot;
    if (this.slots[s] !== ep) return;
    this.pendingPrefill[s] = Math.max(0, this.pendingPrefill[s] - tokens);
  }

  /** Marks discovery's first complete view as delivered. */
  markSynced(): void {
    this.synced = true;
  }

  /** Metrics as a plain object for one endpoint (debug endpoints, tests). */
  describe(ep: Endpoint): Record<string, unknown> {
    const s = ep.slot;
    const m = ep.metrics;
    return {
      key: ep.key,
      name: ep.name,
      waiting: this.waiting[s],
      running: this.running[s],
      kvUsage: this.kvUsage[s],
      activeAdapters: [...(m?.activeAdapters ?? EMPTY_SET)],
      waitingAdapters: [...(m?.waitingAdapters ?? EMPTY_SET)],
      maxAdapters: this.maxAdapters[s],
      cacheBlockSize: this.cacheBlockSize[s],
      cacheNumBlocks: this.cacheNumBlocks[s],
      inflight: this.inflight[s],
      inflightTokens: this.inflightTokens[s],
      signals: Object.fromEntries(SIGNAL_NAMES.map((n) => [n, this.signal[n][s]])),
      scrapeOk: ep.health.ok,
      scrapeFailures: ep.health.consecutiveFailures,
      lastError: ep.health.lastError,
      metricsAgeMs: Number.isFinite(this.scrapedAt[s]) ? this.clock.now() - this.scrapedAt[s] : null,
    };
  }

  private emit(e: PoolEvent): void {
    for (const l of this.listeners) l(e);
  }

  private resetSlot(slot: number): void {
    for (const c of COLUMNS) this[c][slot] = 0;
    this.scrapedAt[slot] = -Infinity;
    for (const n of SIGNAL_NAMES) {
      this.signal[n][slot] = 0;
      this.counterLast[n][slot] = NaN;
    }
  }

  private grow(capacity: number): void {
    for (const c of COLUMNS) {
      const next = new Float64Array(capacity);
      const prev = this[c as Column] as Float64Array | undefined;
      if (prev !== undefined) next.set(prev);
      else if (c === 'scrapedAt') next.fill(-Infinity);
      this[c as Column] = next;
    }
    if (this.capacityValue > 0) this.scrapedAt.fill(-Infinity, this.capacityValue);
    for (const n of SIGNAL_NAMES) {
      const col = new Float64Array(capacity);
      const last = new Float64Array(capacity).fill(NaN);
      if (this.capacityValue > 0) {
        col.set(this.signal[n]);
        last.set(this.counterLast[n]);
      }
      this.signal[n] = col;
      this.counterLast[n] = last;
    }
    this.capacityValue = capacity;
  }
}

function sameSpec(a: Endpoint, b: Endpoint): boolean {
  if (a.name !== b.name || a.metricsPort !== b.metricsPort) return false;
  if (a.kvEventsPort !== b.kvEventsPort || a.kvEventsReplayPort !== b.kvEventsReplayPort) return false;
  const ka = Object.keys(a.labels);
  if (ka.length !== Object.keys(b.labels).length) return false;
  for (const k of ka) if (a.labels[k] !== b.labels[k]) return false;
  return true;
}

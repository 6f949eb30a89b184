/**
 * Snapshots of routing state for the live dashboard, built once per tick while someone watches
 * (never otherwise): per endpoint the scraped signals, in-flight, picks per second and metrics
 * age; per pool the prefix hit ratio, scheduling latency, flow-control queues and refusals. Rates
 * are differences of cumulative counters between two snapshots, so building one costs the hot
 * path nothing.
 */
import { EMPTY_SET, type Endpoint } from '../../pool/endpoint.js';
import type { EndpointPool } from '../../pool/pool.js';
import { SIGNAL_NAMES } from '../../pool/signals.js';
import type { HistogramSeries } from '../fast-metrics.js';
import type { Telemetry } from '../metrics.js';
import type { DecisionLog, DecisionView } from './decisions.js';

/** One pool the dashboard shows. */
export interface DashboardPool {
  name: string;
  pool: EndpointPool;
  /** Its metrics (scheduling latency, prefix index, queues, refusals); null shows endpoints only. */
  telemetry: Telemetry | null;
  /** Metrics older than this (ms) are stale; 0 turns staleness off. */
  stalenessMs: number;
  /** True when `telemetry` is shared by several pools (one registry): its figures are the process's, not this pool's. */
  sharedTelemetry?: boolean;
}

/** One endpoint in a snapshot. */
export interface EndpointView {
  key: string;
  name: string;
  kvUsage: number;
  waiting: number;
  running: number;
  inflight: number;
  /** Requests sent to it per second since the previous snapshot. */
  picksPerSec: number;
  activeAdapters: string[];
  waitingAdapters: string[];
  maxAdapters: number;
  /** Age of the metrics in use, ms; null before the first successful scrape. */
  metricsAgeMs: number | null;
  /** Metrics older than the staleness threshold (or never scraped): the scheduler skips it while fresh ones exist. */
  stale: boolean;
  scrapeOk: boolean;
  lastError: string | null;
  /** Observed time to first token and per output token of recent streamed responses, ms; null with no recent evidence. */
  ttftMs: number | null;
  tpotMs: number | null;
  /** Every declared signal column (pool/signals.ts) by name. */
  signals: Record<string, number>;
}

/** One pool in a snapshot. */
export interface PoolView {
  name: string;
  endpoints: EndpointView[];
  picksPerSec: number;
  /** Prefix blocks matched / looked up since the previous snapshot; null when none were looked up. */
  prefixHitRatio: number | null;
  /** The same since start; null without a prefix index or lookups. */
  prefixHitRatioTotal: number | null;
  /** Scheduling cycles since the previous snapshot: per second, mean and quantiles (ms); null without telemetry. */
  scheduler: { perSec: number; meanMs: number | null; p50Ms: number | null; p99Ms: number | null } | null;
  /** Flow-control queues by priority band and flow. */
  queues: Array<{ priority: number; flow: string; requests: number; bytes: number }>;
  /** Pool saturation (0..1) as flow control sees it; null when not tracked. */
  saturation: number | null;
  /** Refused or failed requests by error code: since start and per second now. */
  rejections: Array<{ code: string; total: number; perSec: number }>;
  /** Scheduling latency, prefix ratio, queues and refusals are the whole process's (several pools share one registry). */
  processWide: boolean;
}

/** What one SSE frame carries. */
export interface DashboardSnapshot {
  /** Wall-clock time, epoch ms. */
  at: number;
  pools: PoolView[];
  /** Decisions recorded since the previous snapshot, oldest first. */
  decisions: DecisionView[];
}

/** Counter values of the previous snapshot of one pool. */
interface PoolMemory {
  at: number;
  dispatched: Map<Endpoint, number>;
  schedCount: number;
  schedSum: number;
  schedBuckets: Float64Array | null;
  prefixLooked: number;
  prefixMatched: number;
  errors: Map<string, number>;
}

export class DashboardFeed {
  private readonly memory = new Map<string, PoolMemory>();
  private decisionSeq = 0;

  constructor(
    private readonly pools: () => readonly DashboardPool[],
    readonly decisions: DecisionLog,
  ) {}

  /** Decisions a new viewer starts with (the last N), oldest first. */
  recentDecisions(): DecisionView[] {
    return this.decisions.since(0);
  }

  /** Builds a snapshot; rates are over the time since the previous call. */
  async snapshot(): Promise<DashboardSnapshot> {
    const pools: PoolView[] = [];
    const seen = new Set<string>();
    for (const p of this.pools()) {
      seen.add(p.name);
      pools.push(await this.poolView(p));
    }
    for (const name of this.memory.keys()) if (!seen.has(name)) this.memory.delete(name);
    const decisions = this.decisions.since(this.decisionSeq);
    this.decisionSeq = this.decisions.latest;
    return { at: Date.now(), pools, decisions };
  }

  private async poolView(p: DashboardPool): Promise<PoolView> {
    const pool = p.pool;
    const now = pool.clock.now();
    const prev = this.memory.get(p.name) ?? null;
    const seconds = prev === null ? 0 : (now - prev.at) / 1000;
    const rate = (delta: number) => (seconds > 0 ? Math.max(0, delta) / seconds : 0);
    const dispatched = new Map<Endpoint, number>();
    let picks = 0;
    const endpoints = pool.endpoints().map((ep): EndpointView => {
      const s = ep.slot;
      const total = pool.dispatched[s];
      dispatched.set(ep, total);
      const before = prev?.dispatched.get(ep);
      const perSec = before === undefined ? 0 : rate(total - before);
      picks += perSec;
      const scraped = pool.scrapedAt[s];
      const signals: Record<string, number> = {};
      for (const n of SIGNAL_NAMES) signals[n] = pool.signal[n][s];
      return {
        key: ep.key,
        name: ep.name,
        kvUsage: pool.kvUsage[s],
        waiting: pool.waiting[s],
        running: pool.running[s],
        inflight: pool.inflight[s],
        picksPerSec: perSec,
        activeAdapters: [...(ep.metrics?.activeAdapters ?? EMPTY_SET)],
        waitingAdapters: [...(ep.metrics?.waitingAdapters ?? EMPTY_SET)],
        maxAdapters: pool.maxAdapters[s],
        metricsAgeMs: Number.isFinite(scraped) ? Math.max(0, now - scraped) : null,
        stale: !Number.isFinite(scraped) || (p.stalenessMs > 0 && !pool.isFresh(s, now, p.stalenessMs)),
        scrapeOk: ep.health.ok,
        lastError: ep.health.lastError,
        ttftMs: signals.ttft > 0 ? signals.ttft : null,
        tpotMs: signals.tpot > 0 ? signals.tpot : null,
        signals,
      };
    });
    const t = p.telemetry;
    const mem: PoolMemory = {
      at: now,
      dispatched,
      schedCount: 0,
      schedSum: 0,
      schedBuckets: null,
      prefixLooked: 0,
      prefixMatched: 0,
      errors: new Map(),
    };
    let scheduler: PoolView['scheduler'] = null;
    let prefixHitRatio: number | null = null;
    let prefixHitRatioTotal: number | null = null;
    let queues: PoolView['queues'] = [];
    let saturation: number | null = null;
    let rejections: PoolView['rejections'] = [];
    if (t !== null) {
      const h = t.schedulerLatency;
      mem.schedCount = h.count;
      mem.schedSum = h.sum;
      mem.schedBuckets = Float64Array.from(h.counts);
      scheduler = schedulerView(h, prev, seconds);
      const px = t.prefix();
      if (px !== null) {
        mem.prefixLooked = px.blocksLooked;
        mem.prefixMatched = px.blocksMatched;
        prefixHitRatioTotal = px.blocksLooked > 0 ? px.blocksMatched / px.blocksLooked : null;
        const looked = px.blocksLooked - (prev?.prefixLooked ?? 0);
        prefixHitRatio = prev !== null && looked > 0 ? (px.blocksMatched - prev.prefixMatched) / looked : null;
      }
      queues = await t.admission.queues();
      saturation = t.admission.saturation();
      mem.errors = t.errorsByCode();
      rejections = [...mem.errors].map(([code, total]) => ({ code, total, perSec: prev === null ? 0 : rate(total - (prev.errors.get(code) ?? 0)) }));
      rejections.sort((a, b) => b.total - a.total);
    }
    this.memory.set(p.name, mem);
    return { name: p.name, endpoints, picksPerSec: picks, prefixHitRatio, prefixHitRatioTotal, scheduler, queues, saturation, rejections, processWide: p.sharedTelemetry === true };
  }
}

/** Scheduling cycles between two snapshots: rate, mean, and p50/p99 read from the bucket differences. */
function schedulerView(h: HistogramSeries, prev: PoolMemory | null, seconds: number): NonNullable<PoolView['scheduler']> {
  if (prev === null || prev.schedBuckets === null || seconds <= 0) return { perSec: 0, meanMs: null, p50Ms: null, p99Ms: null };
  const n = h.count - prev.schedCount;
  if (n <= 0) return { perSec: 0, meanMs: null, p50Ms: null, p99Ms: null };
  const deltas = new Float64Array(h.counts.length);
  for (let i = 0; i < deltas.length; i++) deltas[i] = h.counts[i] - prev.schedBuckets[i];
  return {
    perSec: n / seconds,
    meanMs: ((h.sum - prev.schedSum) / n) * 1000,
    p50Ms: quantileMs(h.bounds, deltas, n, 0.5),
    p99Ms: quantileMs(h.bounds, deltas, n, 0.99),
  };
}

/**
 * The q-quantile of `n` observations spread over buckets (per-bucket counts), interpolated
 * linearly inside its bucket as Prometheus' histogram_quantile does; past the last bound it is
 * that bound.
 */
export function quantileMs(bounds: Float64Array, counts: Float64Array, n: number, q: number): number {
  const rank = q * n;
  let acc = 0;
  for (let i = 0; i < bounds.length; i++) {
    const c = counts[i];
    if (acc + c >= rank && c > 0) {
      const lo = i === 0 ? 0 : bounds[i - 1];
      return (lo + (bounds[i] - lo) * ((rank - acc) / c)) * 1000;
    }
    acc += c;
  }
  return bounds[bounds.length - 1] * 1000;
}

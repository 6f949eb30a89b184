/** Builds pools with given metrics for scheduler tests, on a clock the test controls. */
import { EMPTY_SET, type MetricsSnapshot } from '../../src/pool/endpoint.js';
import { EndpointPool, type Clock } from '../../src/pool/pool.js';
import { seededRandom } from '../../src/util/random.js';

/** A clock that moves only when told. */
export class ManualClock implements Clock {
  constructor(public t = 1_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Short description of one pod's metrics: queue, KV, adapters. */
export interface PodMetrics {
  q?: number;
  running?: number;
  kv?: number;
  active?: string[];
  waiting?: string[];
  maxLora?: number;
  blockSize?: number;
  numBlocks?: number;
}

/** Snapshot from a short description. */
export function snapshot(m: PodMetrics): MetricsSnapshot {
  return {
    waitingQueueSize: m.q ?? 0,
    runningRequests: m.running ?? 0,
    kvCacheUsage: m.kv ?? 0,
    activeAdapters: m.active ? new Set(m.active) : EMPTY_SET,
    waitingAdapters: m.waiting ? new Set(m.waiting) : EMPTY_SET,
    maxAdapters: m.maxLora ?? 0,
    cacheBlockSize: m.blockSize ?? 0,
    cacheNumBlocks: m.numBlocks ?? 0,
  };
}

/** Pods `192.168.1.<i+1>:8000` (the Go EPP's hermetic layout) with fresh metrics. */
export function makePool(pods: PodMetrics[], clock = new ManualClock()): EndpointPool {
  const pool = new EndpointPool(clock);
  pods.forEach((m, i) => {
    const ep = pool.upsert({ name: `pod-${i}`, address: `192.168.1.${i + 1}`, port: 8000 });
    pool.recordMetrics(ep, snapshot(m));
  });
  return pool;
}

/** A seeded PRNG for reproducible tie-breaks in tests. */
export function seeded(seed = 42): () => number {
  return seededRandom(seed);
}

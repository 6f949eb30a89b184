/**
 * What the precise prefix-cache scorer publishes for telemetry and /debug/endpoints: event and
 * index counters, fallbacks to the approximate index, and each endpoint's stream state.
 * Contracts only; the scorer lives in plugins/precise-prefix-cache-scorer.
 */
import type { EndpointEventState } from '../../datalayer/kv-events/kv-event-source.js';
import { StatsKey } from './stats.js';

export type { EndpointEventState } from '../../datalayer/kv-events/kv-event-source.js';

/** Counters of the precise index, read at scrape time. */
export interface PrecisePrefixStats {
  /** Blocks stored / removed and AllBlocksCleared events applied, since start. */
  events: { stored: number; removed: number; cleared: number };
  /** Messages and events dropped, by reason (hostile or broken input, duplicates, skipped chains). */
  dropped: Record<string, number>;
  gaps: number;
  replays: number;
  resyncs: number;
  /** Endpoints served from the approximate index now (unrecovered gap). */
  unreliableEndpoints: number;
  /** Blocks held across endpoints, and distinct block keys. */
  blocks: number;
  keys: number;
  /** Requests (or candidates) scored approximately, by reason. */
  fallbacks: Record<string, number>;
  tokenizer: { requests: number; cacheHits: number };
  /** One endpoint's event state by pool slot, or null when it has no stream. */
  endpoint(slot: number): EndpointEventState | null;
}

/** Stats key of the precise prefix index. */
export const PRECISE_PREFIX_STATS = new StatsKey<PrecisePrefixStats>('precise-prefix-index');

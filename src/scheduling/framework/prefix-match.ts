/**
 * What the prefix-cache scorer shares: per-cycle matches (read by scorers that estimate prompt
 * work) and index statistics (read by telemetry). Contracts only; the scorer lives in
 * plugins/prefix-cache-scorer.
 */
import { CycleKey } from './cycle.js';
import { StatsKey } from './stats.js';

/** Prefix matches of the current cycle. */
export interface PrefixMatch {
  /** Fraction (0..1) of the request's prompt blocks that `slot` holds. */
  fraction(slot: number): number;
  /**
   * Whether the request's prefix carries more of the recent traffic than one endpoint's share of
   * the candidates (it wants more than one holder); false when the scorer does not track traffic.
   */
  hot(): boolean;
  /** How many holders the request's prefix wants (⌈share × candidates⌉); 0 when not tracked. */
  wanted(): number;
}

/** Cycle key under which a prefix scorer publishes its matches. */
export const PREFIX_MATCH = new CycleKey<PrefixMatch>('prefix-match');

/** Counters of a prefix index, read at scrape time. */
export interface PrefixStats {
  /** Entries in the index (all endpoints). */
  indexSize: number;
  /** Blocks looked up, and blocks matched on the best endpoint, since start. */
  blocksLooked: number;
  blocksMatched: number;
  /** Bytes of prompt matched on the best endpoint since start. */
  bytesMatched: number;
}

/** Stats key of a prefix index. */
export const PREFIX_STATS = new StatsKey<PrefixStats>('prefix-index');

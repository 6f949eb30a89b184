/**
 * Metrics of the precise prefix index (vLLM KV events), read from the scorer's statistics at
 * scrape time. Registered always, so dashboards see zeros rather than missing series when the
 * scorer is not configured.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PrecisePrefixStats } from '../scheduling/framework/precise-prefix.js';

/** Counters kept by the scorer as totals: exported by resetting and adding the total. */
function totalCounter(r: Registry, name: string, help: string, labelNames: string[], read: (c: Counter<string>) => void): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [r],
    collect() {
      this.reset();
      read(this);
    },
  });
}

export function registerKvEventMetrics(r: Registry, stats: () => PrecisePrefixStats | null): void {
  totalCounter(r, 'switchboard_kv_events_blocks_total', 'KV blocks stored and removed, and AllBlocksCleared events applied to the precise index, by type.', ['type'], (c) => {
    const s = stats();
    if (s === null) return;
    c.inc({ type: 'stored' }, s.events.stored);
    c.inc({ type: 'removed' }, s.events.removed);
    c.inc({ type: 'cleared' }, s.events.cleared);
  });
  totalCounter(r, 'switchboard_kv_events_dropped_total', 'KV-event messages and events dropped (malformed, over limits, duplicates, unknown parents), by reason.', ['reason'], (c) => {
    const s = stats();
    if (s === null) return;
    for (const [reason, v] of Object.entries(s.dropped)) c.inc({ reason }, v);
  });
  totalCounter(r, 'switchboard_kv_events_gaps_total', 'Sequence gaps detected in KV-event streams.', [], (c) => {
    const s = stats();
    if (s !== null) c.inc(s.gaps);
  });
  totalCounter(r, 'switchboard_kv_events_replays_total', 'Replays requested from KV-event replay sockets.', [], (c) => {
    const s = stats();
    if (s !== null) c.inc(s.replays);
  });
  totalCounter(r, 'switchboard_kv_events_resyncs_total', 'Endpoint resets: publisher restarts and AllBlocksCleared.', [], (c) => {
    const s = stats();
    if (s !== null) c.inc(s.resyncs);
  });
  totalCounter(
    r,
    'switchboard_precise_prefix_fallbacks_total',
    'Requests or candidates scored from the approximate index instead of KV events, by reason (tokenizer timeout, no tokenizer, unreliable endpoint, block-size mismatch, ...).',
    ['reason'],
    (c) => {
      const s = stats();
      if (s === null) return;
      for (const [reason, v] of Object.entries(s.fallbacks)) c.inc({ reason }, v);
    },
  );
  new Gauge({
    name: 'switchboard_kv_events_index_blocks',
    help: 'KV blocks the precise index holds, across endpoints.',
    registers: [r],
    collect() {
      this.set(stats()?.blocks ?? 0);
    },
  });
  new Gauge({
    name: 'switchboard_kv_events_unreliable_endpoints',
    help: 'Endpoints whose KV-event state has an unrecovered gap (scored from the approximate index).',
    registers: [r],
    collect() {
      this.set(stats()?.unreliableEndpoints ?? 0);
    },
  });
}

/**
 * The model names the fleet's scrapes have reported as LoRA adapters (running or waiting on any
 * endpoint). The base model never appears there, so this is what tells an adapter request from a
 * base-model one. Learnt off the pick, on each scrape; bounded, since metrics pages are input.
 */
import type { EndpointPool } from '../../pool/pool.js';

/** Names learnt at most: a hostile page cannot grow the set without bound. */
const MAX_KNOWN_ADAPTERS = 4096;

/** Starts learning adapter names from `pool`'s scrapes; the returned set grows as they arrive. */
export function learnAdapterNames(pool: EndpointPool): ReadonlySet<string> {
  const names = new Set<string>();
  pool.onMetrics((ep) => {
    const m = ep.metrics;
    if (m === null || names.size >= MAX_KNOWN_ADAPTERS) return;
    for (const a of m.activeAdapters) names.add(a);
    for (const a of m.waitingAdapters) names.add(a);
  });
  return names;
}

/**
 * The model names the fleet's scrapes have reported as LoRA adapters (running or waiting on any
 * endpoint), and the base models the endpoints serve (the `model_name` label of their metrics).
 * An adapter shows in `lora_requests_info` only once it has run or waited somewhere, so a request
 * for a name that is neither reported nor a served base model is taken to be an adapter too: its
 * first requests then get the adapter's treatment instead of a base-model request's. Learnt off
 * the pick, on each scrape; bounded, since metrics pages are input.
 */
import type { EndpointPool } from '../../pool/pool.js';

/** Names learnt at most: a hostile page cannot grow the sets without bound. */
const MAX_KNOWN_ADAPTERS = 4096;
const MAX_KNOWN_BASE_MODELS = 64;

/** What the scrapes say about model names. */
export interface AdapterNames {
  /** Adapters some scrape has reported running or waiting. */
  readonly reported: ReadonlySet<string>;
  /** Whether a request for `model` asks for an adapter: reported as one, or not a served base model. */
  isAdapter(model: string): boolean;
}

/** Starts learning adapter and base-model names from `pool`'s scrapes; the sets grow as they arrive. */
export function learnAdapterNames(pool: EndpointPool): AdapterNames {
  const reported = new Set<string>();
  const bases = new Set<string>();
  pool.onMetrics((ep) => {
    const m = ep.metrics;
    if (m === null) return;
    const served = m.servedModel;
    if (served !== undefined && served !== '' && bases.size < MAX_KNOWN_BASE_MODELS) bases.add(served);
    if (reported.size >= MAX_KNOWN_ADAPTERS) return;
    for (const a of m.activeAdapters) reported.add(a);
    for (const a of m.waitingAdapters) reported.add(a);
  });
  return {
    reported,
    // No base model reported (an engine without the label): only reported names are adapters.
    isAdapter: (model) => reported.has(model) || (bases.size > 0 && !bases.has(model)),
  };
}

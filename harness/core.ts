/**
 * The core as tests and benchmarks start it: `createSwitchboard` over static endpoints, then
 * (while it scrapes) a wait until every endpoint has been scraped once, then the pool marked
 * synced, as discovery does in `switchboard serve`. Without scraping, `refreshMetrics` feeds
 * synthetic snapshots in-process, so no scrape traffic competes for the CPU.
 */
import { parseConfig } from '../src/config/load.js';
import { defaultConfig } from '../src/config/defaults.js';
import type { EndpointPickerConfig } from '../src/config/types.js';
import type { Endpoint, MetricsSnapshot } from '../src/pool/endpoint.js';
import { createSwitchboard, type Switchboard, type SwitchboardOptions } from '../src/switchboard.js';
import { eventually } from './wait.js';

export interface CoreOptions extends Omit<SwitchboardOptions, 'config'> {
  /** The config, or its YAML; default the built-in default config. */
  config?: EndpointPickerConfig | string;
  /**
   * While scraping, wait until every endpoint has metrics before marking the pool synced, at
   * most this many ms (default 5000); 0 marks it synced at once.
   */
  scrapedWithinMs?: number;
}

/** Starts the core, waits for its first scrapes (when scraping) and marks the pool synced. */
export async function startCore(opts: CoreOptions = {}): Promise<Switchboard> {
  const config = opts.config === undefined ? defaultConfig() : typeof opts.config === 'string' ? parseConfig(opts.config, 'test config') : opts.config;
  const core = createSwitchboard({ ...opts, config });
  const within = opts.scrapedWithinMs ?? 5000;
  if (opts.scrape !== false && within > 0) {
    try {
      await eventually(() => core.pool.endpoints().every((e) => e.metrics !== null), within);
    } catch (err) {
      await core.close();
      throw err;
    }
  }
  core.pool.markSynced();
  return core;
}

/**
 * Records `snapshot(endpoint, tick)` for every endpoint now and every `intervalMs` after (tick
 * counts up from 1); returns a stop function. The timer does not keep the process alive.
 */
export function refreshMetrics(core: Pick<Switchboard, 'pool'>, snapshot: (ep: Endpoint, tick: number) => MetricsSnapshot, intervalMs: number): () => void {
  let tick = 0;
  const refresh = () => {
    tick++;
    for (const ep of core.pool.endpoints()) core.pool.recordMetrics(ep, snapshot(ep, tick));
  };
  refresh();
  const timer = setInterval(refresh, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

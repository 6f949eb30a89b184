/**
 * Opt-in debug routes on the metrics port (`--enable-debug-endpoints`): the pool as the scheduler
 * sees it and the effective configuration. They show no request content, and values of settings
 * whose names suggest a secret are redacted.
 */
import type { EndpointPool } from '../pool/pool.js';
import type { PrecisePrefixStats } from '../scheduling/framework/precise-prefix.js';

/** Setting names whose values are never shown. */
const SECRET_NAME = /token|secret|password|passwd|credential|private|(^|-)key($|-)/i;

/** What the debug routes read. */
export interface DebugSources {
  pool: EndpointPool;
  /** The effective EndpointPickerConfig. */
  config: unknown;
  /** Command-line settings by name (flags after defaults). */
  settings: Readonly<Record<string, unknown>>;
  version: string;
  /** KV-event statistics of the precise prefix scorer, when one is configured. */
  kvEvents?: (() => PrecisePrefixStats) | null;
}

/** Routes for `startMetricsServer({ debugRoutes })`. */
export function debugRoutes(src: DebugSources): Record<string, () => unknown> {
  return {
    '/debug/endpoints': () => ({
      synced: src.pool.synced,
      endpoints: src.pool.endpoints().map((ep) => {
        const d = src.pool.describe(ep);
        // Blocks held, last sequence, gaps and resyncs per endpoint, as its KV events left them.
        if (src.kvEvents != null) d.kvEvents = src.kvEvents().endpoint(ep.slot);
        return d;
      }),
    }),
    '/debug/config': () => ({
      version: src.version,
      config: src.config,
      settings: redactSettings(src.settings),
    }),
  };
}

/** The settings with secret-looking values replaced. */
export function redactSettings(settings: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(settings)) out[k] = SECRET_NAME.test(k) && v !== '' && v !== null ? '[redacted]' : v;
  return out;
}

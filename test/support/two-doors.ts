/**
 * Both front doors in front of the real core (started by the shared harness, harness/), with real pods: recording vLLM-like pods (real
 * HTTP, /metrics scraped by the real collector), `createSwitchboard`, the ext_proc server driven
 * by an Envoy emulator (ext_proc frames plus the real upstream HTTP request), and the OpenAI
 * proxy. Everything on loopback with ephemeral ports; the metric registry is the core's.
 */
import { pino, type Logger } from 'pino';
import { startCore, startExtProc, startProxy } from '../../harness/index.js';
import type { ExtProcServer, ExtProcServerOptions } from '../../src/frontends/extproc/server.js';
import type { ProxyServer } from '../../src/frontends/proxy/server.js';
import type { ProxySettingsInput } from '../../src/frontends/proxy/options.js';
import type { EndpointSpec } from '../../src/pool/endpoint.js';
import { seededRandom } from '../../src/util/random.js';
import type { Switchboard } from '../../src/switchboard.js';
import { EnvoyExtProcClient } from './envoy-client.js';
import { EnvoyEmulator, type EnvoyEmulatorOptions } from './envoy-emulator.js';
import type { PluginRegistry } from '../../src/framework/registry.js';
import { registryValue } from './extproc-harness.js';
import { VllmPod, type PodOptions } from './vllm-pod.js';

export interface TwoDoorsOptions {
  pods?: number;
  /** Options of every pod, or of pod i. */
  pod?: PodOptions | ((i: number) => PodOptions);
  /** EndpointPickerConfig YAML (default: the built-in default config). */
  config?: string;
  extproc?: Partial<ExtProcServerOptions>;
  proxy?: ProxySettingsInput;
  /** Logger for the core and both doors (default silent). */
  logger?: Logger;
  /** Metrics older than this are stale (default 2000 ms). */
  stalenessMs?: number;
  /** Changes to pod i's endpoint (e.g. a separate metrics port). */
  endpoint?: (i: number) => Partial<EndpointSpec>;
  /** Scrape interval and deadline, ms (default 20 / 500). */
  scrape?: { intervalMs: number; timeoutMs: number };
  /** Plugin registry of the core (default the built-ins; tests add their own plugins). */
  registry?: PluginRegistry;
  /** Options of the Envoy emulator (e.g. `keepChunkTiming`). */
  emulator?: EnvoyEmulatorOptions;
}

export interface TwoDoors {
  core: Switchboard;
  pods: VllmPod[];
  extproc: ExtProcServer;
  envoy: EnvoyExtProcClient;
  emulator: EnvoyEmulator;
  proxy: ProxyServer;
  /** `http://127.0.0.1:port` of the proxy. */
  proxyUrl: string;
  /** Sum of a metric's values on the core's registry over the series matching `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** Starts pods, the core scraping them, and both front doors. */
export async function startTwoDoors(opts: TwoDoorsOptions = {}): Promise<TwoDoors> {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const podOptions = (i: number): PodOptions | undefined => (typeof opts.pod === 'function' ? opts.pod(i) : opts.pod);
  const pods = await Promise.all(Array.from({ length: opts.pods ?? 2 }, (_, i) => new VllmPod(podOptions(i)).start()));
  const core = await startCore({
    config: opts.config,
    endpoints: pods.map((p, i) => ({ name: `pod-${i}`, ...p.spec, ...opts.endpoint?.(i) })),
    poolName: 'test-pool',
    stalenessMs: opts.stalenessMs,
    collector: opts.scrape ?? { intervalMs: 20, timeoutMs: 500 },
    rng: seededRandom(7),
    logger,
    version: 'test',
    registry: opts.registry,
  });
  const registry = core.telemetry!.registry;
  const extproc = await startExtProc(core.director, { readiness: { ready: () => core.pool.synced }, logger, registry, ...opts.extproc });
  const proxy = await startProxy(core.director, core.pool, { settings: opts.proxy, logger, registry });
  const envoy = new EnvoyExtProcClient({ address: `127.0.0.1:${extproc.port}`, waitLimitMs: 10_000 });
  const emulator = new EnvoyEmulator(envoy, opts.emulator);
  return {
    core,
    pods,
    extproc,
    envoy,
    emulator,
    proxy,
    proxyUrl: proxy.url,
    metric: (name, labels = {}) => registryValue(registry, name, labels),
    async close() {
      envoy.close();
      await emulator.close();
      await Promise.all([extproc.close(), proxy.close()]);
      await core.close();
      await Promise.all(pods.map((p) => p.stop()));
    },
  };
}

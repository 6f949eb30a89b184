/**
 * Policies that route through the real Switchboard core: the same config loader, plugins,
 * scheduler and director as `switchboard serve`, on a pool whose clock is the scorecard's
 * virtual clock. The scorecard feeds `pool.recordMetrics` from the simulated engines on every
 * scrape (as the scrape loop would from /metrics) and reports each request's end through the
 * decision's lifecycle, so in-flight accounting and the prefix index behave as in production.
 */
import { defaultConfig } from '../../config/defaults.js';
import { defaultSchedulingDocument } from '../../config/default-scheduling.js';
import { KvEventSource } from '../../datalayer/kv-events/kv-event-source.js';
import { CONFIG_API_VERSION, CONFIG_KIND, loadConfigFile, validateConfig } from '../../config/load.js';
import type { EndpointPickerConfig } from '../../config/types.js';
import type { Director, HeaderSource, InferenceRequest } from '../../director/types.js';
import { sbError } from '../../errors.js';
import { createMultiPool, hasPools, type MultiPoolOptions } from '../../multipool/multi-pool.js';
import type { EndpointPool } from '../../pool/pool.js';
import type { PluginRegistry } from '../../framework/registry.js';
import type { Endpoint, MetricsSnapshot } from '../../pool/endpoint.js';
import { seededRandom } from '../../util/random.js';
import { createSwitchboard, type Switchboard } from '../../switchboard.js';
import type { EngineState } from '../engine/engine.js';
import type { ConfigWarning } from '../../warnings.js';
import type { RouteDecision, Router, RouterContext, RouterFactory } from './router.js';
import { pickTrace } from './pick-trace.js';

/** The Go EPP's default scorer blend: queue 2, KV utilisation 2, prefix 3. */
export const GO_EPP_BLEND: ReadonlyArray<readonly [string, number]> = [
  ['queue-scorer', 2],
  ['kv-cache-utilization-scorer', 2],
  ['prefix-cache-scorer', 3],
];

/** An EndpointPickerConfig document: the given weighted scorers and a max-score picker. */
export function blendConfigDocument(blend: ReadonlyArray<readonly [string, number]>): Record<string, unknown> {
  return {
    apiVersion: CONFIG_API_VERSION,
    kind: CONFIG_KIND,
    plugins: [...blend.map(([type]) => ({ type })), { type: 'max-score-picker' }],
    schedulingProfiles: [
      {
        name: 'default',
        plugins: [...blend.map(([pluginRef, weight]) => ({ pluginRef, weight })), { pluginRef: 'max-score-picker' }],
      },
    ],
  };
}

/** Options of a director-backed policy. */
export interface DirectorRouterOptions {
  /** Metrics older than this are stale (`--metrics-staleness-threshold`), ms. */
  stalenessMs?: number;
  /** Plugin registry; the built-ins when absent (tests add their own plugins, e.g. a lifecycle hook). */
  registry?: PluginRegistry;
}

const NO_HEADERS: HeaderSource = { get: () => undefined };

function headerSource(h: Readonly<Record<string, string>>): HeaderSource {
  return { get: (name) => h[name] };
}

/** Address of simulated pod `i` (never dialled; it only names the endpoint). */
export function podAddress(i: number): { address: string; port: number } {
  return { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) + 1}`, port: 8000 };
}

/** A router that asks a real Switchboard director, built from `config` (several pools when it declares `pools:`). */
export function directorRouter(name: string, config: EndpointPickerConfig, ctx: RouterContext, opts: DirectorRouterOptions = {}): Router {
  if (hasPools(config)) return poolsRouter(name, config, ctx, opts);
  const core = createSwitchboard(coreOptions(config, ctx, opts));
  withEnvironmentObjectives(core, config, ctx);
  const pool = core.pool;
  const endpoints: Endpoint[] = [];
  const podOf = new Map<string, number>();
  pool.setEndpoints(
    Array.from({ length: ctx.pods }, (_, i) => ({
      ...podAddress(i),
      name: `sim-pod-${i}`,
      labels: { 'inference.networking.k8s.io/engine-type': 'vllm' },
    })),
  );
  for (const ep of pool.endpoints()) {
    podOf.set(ep.key, endpoints.length);
    endpoints.push(ep);
  }
  pool.markSynced();
  const events = kvEventSource(core.built.plugins.values());

  return {
    name,
    route: routeThrough(core.director, podOf, ctx.explain === true),
    onScrapeStarted(pod) {
      pool.scrapeStarted(endpoints[pod]);
    },
    onScrape(pod, state) {
      pool.recordMetrics(endpoints[pod], snapshot(state));
    },
    // Only a config with an event-fed index subscribes to the engines' KV events.
    ...(events === null ? {} : { onKvEvents: (pod: number, seq: number, payload: Uint8Array) => events.deliver(endpoints[pod].slot, seq, payload) }),
    close: () => core.close(),
  };
}

/** The core settings of a scorecard run: its virtual clock and timers, a seeded rng, no scraping, no telemetry. */
function coreOptions(config: EndpointPickerConfig, ctx: RouterContext, opts: DirectorRouterOptions): MultiPoolOptions {
  return {
    config,
    clock: ctx.clock,
    rng: seededRandom(ctx.seed ^ 0x51d),
    stalenessMs: opts.stalenessMs ?? 2000,
    scrape: false,
    telemetry: false,
    timers: ctx.timers,
    registry: opts.registry,
  };
}

/** The environment's objectives (as Kubernetes would feed them) join the config's own. */
function withEnvironmentObjectives(core: Pick<Switchboard, 'objectives'>, config: EndpointPickerConfig, ctx: RouterContext): void {
  if (ctx.objectives !== undefined && ctx.objectives.length > 0) core.objectives.replace([...config.objectives, ...ctx.objectives]);
}

/** The KV-event source of the config's precise prefix scorer, or null. */
function kvEventSource(plugins: Iterable<object>): KvEventSource | null {
  for (const p of plugins) {
    const e = (p as { events?: unknown }).events;
    if (e instanceof KvEventSource) return e;
  }
  return null;
}

/**
 * `route` of a director-backed router: the request as a client sends it, the lifecycle fed as a
 * front door would; with `explain`, each decision carries its pick trace.
 */
function routeThrough(director: Director, podOf: ReadonlyMap<string, number>, explain: boolean): Router['route'] {
  let seq = 0;
  return async (input): Promise<RouteDecision> => {
    const req: InferenceRequest = {
      requestId: `${input.work.id}#${seq++}`,
      path: input.path,
      headers: input.work.headers === null ? NO_HEADERS : headerSource(input.work.headers),
      body: input.body,
      subset: null,
      // The simulator's token ids: what a precise prefix index keys requests by (no tokenizer round trip).
      tokenIds: input.tokens ?? null,
      explain,
    };
    const d = await director.handleRequest(req);
    if (d.kind === 'reject') return { kind: 'reject', status: d.error.status, error: d.error.code };
    const pod = podOf.get(d.endpoints[0].key);
    if (pod === undefined) {
      d.lifecycle.finish('error', 'unknown_endpoint');
      return { kind: 'reject', status: 500, error: 'unknown endpoint' };
    }
    const lifecycle = d.lifecycle;
    return {
      kind: 'route',
      pod,
      ...(explain && d.explanation !== null ? { pick: pickTrace(d.explanation, podOf) } : {}),
      firstToken: () => {
        lifecycle.responseHeaders(200, 'text/event-stream');
        lifecycle.responseBody(FIRST_TOKEN_CHUNK, false);
      },
      done: (o) => {
        lifecycle.responseHeaders(o.ok ? 200 : 500, 'text/event-stream');
        if (o.ok) lifecycle.responseBody(usageChunk(o.promptTokens, o.completionTokens, o.cachedTokens), true);
        lifecycle.finish(o.ok ? 'ok' : 'error');
      },
    };
  };
}

/**
 * A router over a fleet whose pods are in named pools (`fleet.mix[].pool`) through the multi-pool director: each
 * config pool gets the fleet pool's pods of the same name (its own discovery is not used here);
 * fleet pools the config does not name stay idle (a "primary only" policy).
 */
function poolsRouter(name: string, config: EndpointPickerConfig, ctx: RouterContext, opts: DirectorRouterOptions): Router {
  const fleetPools = ctx.podPools;
  if (fleetPools === undefined) throw sbError('SB_ERR_CONFIG', `policy ${name}`, 'a config with pools needs a fleet whose mix groups name pools (fleet.mix[].pool)');
  const mp = createMultiPool(coreOptions(config, ctx, opts));
  const endpoints: Array<{ ep: Endpoint; pool: EndpointPool } | null> = Array.from({ length: ctx.pods }, () => null);
  const podOf = new Map<string, number>();
  for (const m of mp.members) {
    withEnvironmentObjectives(m.core, config, ctx);
    const pods = fleetPools.flatMap((p, i) => (p === m.name ? [i] : []));
    if (pods.length === 0) throw sbError('SB_ERR_CONFIG', `policy ${name}`, `pool "${m.name}" has no pods in the fleet (fleet pools: ${[...new Set(fleetPools)].join(', ')})`);
    m.core.pool.setEndpoints(pods.map((i) => ({ ...podAddress(i), name: `sim-pod-${i}` })));
    pods.forEach((i, k) => {
      const ep = m.core.pool.endpoints()[k];
      endpoints[i] = { ep, pool: m.core.pool };
      podOf.set(ep.key, i);
    });
    m.core.pool.markSynced();
  }
  return {
    name,
    route: routeThrough(mp.director, podOf, ctx.explain === true),
    onScrapeStarted(pod) {
      const e = endpoints[pod];
      e?.pool.scrapeStarted(e.ep);
    },
    onScrape(pod, state) {
      const e = endpoints[pod];
      e?.pool.recordMetrics(e.ep, snapshot(state));
    },
    close: () => mp.close(),
  };
}

/** What the client receives first: the stream's first event. */
const FIRST_TOKEN_CHUNK = Buffer.from('data: {"choices":[{"index":0,"text":"x"}]}\n\n');

/** The engine state as the datalayer would have parsed it from /metrics. */
export function snapshot(s: EngineState): MetricsSnapshot {
  return {
    waitingQueueSize: s.waiting,
    runningRequests: s.running,
    kvCacheUsage: s.kvUsage,
    activeAdapters: new Set(s.runningAdapters),
    waitingAdapters: new Set(s.waitingAdapters),
    maxAdapters: s.maxLoras,
    cacheBlockSize: s.blockSize,
    cacheNumBlocks: s.numGpuBlocks,
    // The counter as /metrics has it; the pool turns it into a rate per second.
    signals: { preemptions: s.preemptions },
    servedModel: s.model,
  };
}

function usageChunk(prompt: number, completion: number, cached: number): Buffer {
  return Buffer.from(
    `data: {"choices":[],"usage":{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion},` +
      `"prompt_tokens_details":{"cached_tokens":${cached}}}}\n\ndata: [DONE]\n\n`,
  );
}

/** Factory for a policy given by an EndpointPickerConfig. */
export function configPolicy(name: string, config: () => EndpointPickerConfig, opts: DirectorRouterOptions = {}): RouterFactory {
  return (ctx) => directorRouter(name, config(), ctx, opts);
}

/** The director-backed policies every comparison includes. */
export const DIRECTOR_POLICIES: Readonly<Record<string, RouterFactory>> = Object.freeze({
  'go-epp': configPolicy('go-epp', () => validateConfig(blendConfigDocument(GO_EPP_BLEND), 'go-epp policy')),
  switchboard: configPolicy('switchboard', defaultConfig),
});

/**
 * Switchboard's default profile with the precise prefix scorer (fed by the simulated engines' KV
 * events, delivered with the run's delay and loss) in place of the approximate one, which stays
 * inside it as the fallback. Opt-in (`--policies switchboard-precise`): not in every comparison.
 */
export function preciseConfigDocument(): Record<string, unknown> {
  const doc = defaultSchedulingDocument() as { plugins: Array<{ type: string; name?: string; parameters?: Record<string, unknown> }>; schedulingProfiles: unknown[] };
  const plugins = doc.plugins.map((pl) =>
    pl.type === 'prefix-cache-scorer'
      ? {
          type: 'precise-prefix-cache-scorer',
          name: pl.name ?? pl.type,
          parameters: { kvEventsConfig: { discoverPods: false }, tokenizer: { backend: 'none' }, approximate: pl.parameters ?? {} },
        }
      : pl,
  );
  return { apiVersion: CONFIG_API_VERSION, kind: CONFIG_KIND, plugins, schedulingProfiles: doc.schedulingProfiles };
}

export const OPT_IN_POLICIES: Readonly<Record<string, RouterFactory>> = Object.freeze({
  'switchboard-precise': configPolicy('switchboard-precise', () => validateConfig(preciseConfigDocument(), 'switchboard-precise policy')),
});

/** A policy from a config file (`--config name=path`), with the config it loaded. */
export function configFilePolicy(name: string, path: string): { factory: RouterFactory; config: EndpointPickerConfig } {
  const config = loadConfigFile(path);
  return { factory: configPolicy(name, () => config), config };
}

/**
 * The coded warnings a build of `config` gives (unknown plugin parameters, a profile without
 * scorers, ...), found by building it once with nothing running: each run builds it again in
 * silence, so a command that takes config files prints these once, before the runs.
 */
export function configWarnings(config: EndpointPickerConfig): ConfigWarning[] {
  const opts = { config, scrape: false, telemetry: false } as const;
  const built = hasPools(config) ? createMultiPool(opts) : createSwitchboard(opts);
  // Nothing was started, so there is nothing to wait for or report on close.
  built.close().catch(() => undefined);
  return built.warnings;
}

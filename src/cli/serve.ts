/**
 * `switchboard serve`: the endpoint picker. Builds the core from flags and config, starts metrics
 * collection, the front doors and the metrics endpoint, and shuts down cleanly on SIGTERM/SIGINT.
 */
import { PRECISE_PREFIX_STATS } from '../scheduling/framework/precise-prefix.js';
import { defaultConfig } from '../config/defaults.js';
import { formatConfig } from '../config/print.js';
import { loadConfigFile, parseConfig, parseHostPort } from '../config/load.js';
import type { EndpointPickerConfig } from '../config/types.js';
import type { EngineConfig } from '../datalayer/engines.js';
import { isSwitchboardError, sbError } from '../errors.js';
import type { EndpointSpec } from '../pool/endpoint.js';
import { readiness, type Leadership } from '../ha/leadership.js';
import { createSwitchboard, type Switchboard } from '../switchboard.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { debugRoutes } from '../telemetry/debug-routes.js';
import { Dashboard } from '../telemetry/dashboard/dashboard.js';
import { DecisionLog } from '../telemetry/dashboard/decisions.js';
import { startMetricsServer } from '../telemetry/metrics-server.js';
import { tokenFromFile } from '../telemetry/token-file.js';
import { StaticTokenAuthenticator, type MetricsAuthenticator } from '../telemetry/metrics-auth.js';
import { parseMetricNames } from '../telemetry/metric-names.js';
import { KubeClient } from '../discovery/kubernetes/client.js';
import { resolveConnection } from '../discovery/kubernetes/connection.js';
import { TokenReviewAuthenticator } from '../discovery/kubernetes/token-review-authenticator.js';
import { extProcOptionsFromFlags } from '../frontends/extproc/flags.js';
import { startExtProcServer } from '../frontends/extproc/server.js';
import { proxyFlagValues } from '../frontends/proxy/flags.js';
import { startProxyServer } from '../frontends/proxy/server.js';
import { naming, formatAddress } from './address-in-use.js';
import { flagNotices, formatHelp, parseFlags, rejectPositionals, type FlagNotice, type ParsedFlags } from './flags.js';
import { startDiscovery, startPoolsDiscovery, type StartedDiscovery } from './serve-discovery.js';
import { createMultiPool, hasPools, type MultiPool } from '../multipool/multi-pool.js';
import { SERVE_FLAGS } from './serve-flags.js';
import { logSettings, type LogSettings } from './serve-logging.js';
import { VERSION } from './version.js';
import { startSimFleet } from '../sim/pod/fleet.js';

/** Proxy port of `--demo` when --proxy-port is not given. */
const DEMO_PROXY_PORT = 8080;

/** LoRA adapters every demo pod serves. */
const DEMO_ADAPTERS = [{ name: 'sql-lora' }, { name: 'chat-lora' }];

/** A started component that can be stopped. */
export interface Closable {
  name: string;
  close(): Promise<void>;
  /**
   * A front door: its close() turns readiness off and refuses new work at once, then drains.
   * Front doors are stopped first and together, so both stop taking work at the same moment.
   */
  frontDoor?: boolean;
}

/** After the graceful stop, how long leftover handles may keep the process alive before it exits anyway. */
const EXIT_BACKSTOP_MS = 5000;

/** Runs `switchboard serve` until a signal stops it. Returns the exit code. */
export async function runServe(argv: string[]): Promise<number> {
  const flags = parseFlags(SERVE_FLAGS, argv);
  if (flags.help) {
    process.stdout.write(formatHelp('switchboard serve [flags]', 'Runs the endpoint picker: Envoy ext_proc, health, metrics and (with --proxy-port) the OpenAI-compatible proxy.', SERVE_FLAGS));
    return 0;
  }
  rejectPositionals(flags);
  const logs = logSettings(flags);
  const notices = flagNotices(SERVE_FLAGS, flags);
  const config = loadConfig(flags);
  const printFormat = String(flags.values['print-config']);
  if (printFormat !== '') {
    if (printFormat !== 'yaml' && printFormat !== 'json') throw sbError('SB_ERR_FLAG', 'print-config', `must be yaml or json, got "${printFormat}"`);
    // Build the scheduling too: unknown plugins and bad parameters fail here, as they would at
    // start, and the printout shows the profile that would run (defaults filled in).
    // With pools, every pool's core is built (profiles checked) and the pools print as written.
    const core = hasPools(config) ? createMultiPool({ config, scrape: false, telemetry: false }) : createSwitchboard({ config, scrape: false, telemetry: false });
    void core.close();
    process.stdout.write(formatConfig('built' in core ? { ...config, ...core.built.effective } : config, printFormat));
    // How the flags and the config were read goes to stderr as JSON lines, leaving stdout the config alone.
    for (const n of notices) process.stderr.write(JSON.stringify({ level: 'warn', code: n.code, flag: n.flag, msg: n.message }) + '\n');
    for (const w of core.warnings) process.stderr.write(JSON.stringify({ level: 'warn', code: w.code, msg: w.message }) + '\n');
    process.stderr.write(JSON.stringify(effectiveFlags(flags, logs)) + '\n');
    return 0;
  }
  const logger = createLogger(logs.level, { pretty: logs.pretty });
  logNotices(logger, notices);
  const started = await startServe(flags, config, logger);
  await waitForSignal(logger);
  // A second signal while draining means "now": exit without waiting for open streams.
  const force = (sig: NodeJS.Signals) => {
    logger.warn({ signal: sig }, 'second signal: exiting without draining');
    logger.flush();
    process.exit(1);
  };
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  await stopAll(started.closables, logger);
  // Everything is closed; should a stray handle keep the event loop alive, exit anyway.
  setTimeout(() => process.exit(0), EXIT_BACKSTOP_MS).unref();
  return 0;
}

/** One line saying how the command line was read: log settings and every flag given, by name. */
export function effectiveFlags(flags: ParsedFlags, logs: LogSettings): Record<string, unknown> {
  const given: Record<string, unknown> = {};
  for (const name of flags.given) if (name in flags.values) given[name] = flags.values[name];
  return {
    msg: 'effective flags',
    logLevel: logs.level,
    logLevelFrom: logs.levelFrom,
    logFormat: logs.pretty === undefined ? 'auto' : logs.pretty ? 'pretty' : 'json',
    logFormatFrom: logs.prettyFrom,
    given,
  };
}

/** Logs each ignored or deprecated flag once, at start, with its code. */
function logNotices(logger: Logger, notices: readonly FlagNotice[]): void {
  for (const n of notices) logger.warn({ code: n.code, flag: n.flag }, n.message);
}

/** What `startServe` started. */
export interface Started {
  /** The core (with `pools:`, the first pool's). */
  core: Switchboard;
  /** The pools and their director when the config declares `pools:`, else null. */
  pools: MultiPool | null;
  closables: Closable[];
  metricsPort: number | null;
  grpcPort: number | null;
  proxyUrl: string | null;
  leadership: Leadership;
}

/** Starts everything `serve` runs; exported for end-to-end tests. */
export async function startServe(
  flags: ParsedFlags,
  config: EndpointPickerConfig,
  logger: Logger,
): Promise<Started> {
  const closables: Closable[] = [];
  try {
    return await startParts(flags, config, logger, closables);
  } catch (err) {
    // A bad config or a taken port: stop what already runs (the demo fleet, a listener) so the
    // process can exit with the error instead of hanging on open handles.
    await stopAll(closables, logger);
    throw err;
  }
}

async function startParts(
  flags: ParsedFlags,
  config: EndpointPickerConfig,
  logger: Logger,
  closables: Closable[],
): Promise<Started> {
  const v = flags.values;
  // The demo is for a laptop: it listens on loopback unless --bind-address opens it.
  if (v.demo === true && !flags.given.has('bind-address')) v['bind-address'] = '127.0.0.1';
  const host = String(v['bind-address']);
  const endpoints = parseEndpointsFlag(v.endpoints as string | string[]);
  if (v.demo === true) {
    // The embedded fleet: simulated vLLM pods on loopback, so `npm start` does something real.
    const fleet = await startSimFleet({ pods: Math.max(1, Number(v['demo-pods'])), loraModules: DEMO_ADAPTERS });
    closables.push({ name: 'demo fleet', close: () => fleet.close() });
    for (const pod of fleet.pods) endpoints.push({ address: pod.address, port: pod.port, name: `demo-pod-${pod.index}` });
    logger.info({ pods: fleet.pods.map((p) => `${p.address}:${p.port}`), model: fleet.modelName, adapters: DEMO_ADAPTERS.map((a) => a.name) }, 'demo fleet started');
  }
  const metricsPortOverride = Number(v['model-server-metrics-port']);
  if (metricsPortOverride > 0) for (const e of [...endpoints, ...config.endpoints]) e.metricsPort ??= metricsPortOverride;

  // The demo shows its dashboard unless told not to.
  const dashboardOn = v['enable-dashboard'] === true || (v['enable-dashboard'] === null && v.demo === true);
  const decisions = dashboardOn && Number(v['metrics-port']) >= 0 ? new DecisionLog() : null;
  const poolName = String(v['pool-name']) || 'switchboard';
  const stalenessMs = Number(v['metrics-staleness-threshold']);
  const coreOptions = {
    config,
    stalenessMs,
    decisions,
    collector: {
      intervalMs: Math.max(1, Number(v['refresh-metrics-interval'])),
      timeoutMs: Math.max(1, Number(v['scrape-timeout'])),
      ...(flags.given.has('model-server-metrics-path') ? { path: String(v['model-server-metrics-path']) } : {}),
      ...(flags.given.has('model-server-metrics-scheme') ? { scheme: v['model-server-metrics-scheme'] === 'https' ? ('https' as const) : ('http' as const) } : {}),
      ...(flags.given.has('model-server-metrics-https-insecure-skip-verify')
        ? { insecureSkipVerify: v['model-server-metrics-https-insecure-skip-verify'] === true }
        : {}),
    },
    engineOverrides: engineOverrides(flags),
    settings: v,
    pluginTiming: v['plugin-timing'] === true,
    disableSubsetFilter: v['disable-endpoint-subset-filter'] === true,
    logger,
    version: VERSION,
    metricNames: parseMetricNames(String(v['metrics-names'])),
  };
  // Several pools (`pools:` in the config): one core per pool behind the multi-pool director;
  // `core` is then the first pool's (its registry is every pool's).
  if (hasPools(config) && (endpoints.length > 0 || v.demo === true)) throw sbError('SB_ERR_FLAG', v.demo === true ? 'demo' : 'endpoints', 'the config declares pools: list endpoint sources in each pool');
  if (hasPools(config) && metricsPortOverride > 0)
    for (const p of config.pools ?? []) if (p.discovery.kind === 'static') for (const e of p.discovery.endpoints) e.metricsPort ??= metricsPortOverride;
  const pools = hasPools(config) ? createMultiPool(coreOptions) : null;
  const core = pools?.members[0].core ?? createSwitchboard({ ...coreOptions, endpoints, poolName });
  closables.push({ name: 'metrics collection', close: () => (pools ?? core).close() });
  for (const w of pools?.warnings ?? core.warnings) logger.warn({ code: w.code }, w.message);
  const discovery = pools !== null ? await startPoolsDiscovery(flags, config, pools, logger) : await startDiscovery(flags, config, core, logger);
  closables.push(...discovery.closables);
  // What the front doors route with: the one core, or the pools behind their director.
  const front = pools === null ? { director: core.director, pool: core.pool, synced: core.pool } : { director: pools.director, pool: pools.union, synced: { get synced() { return pools.synced(); } } };

  let metricsPort: number | null = null;
  // Checked even when the port is off, so a contradictory command line fails either way.
  const auth = metricsAuth(flags, discovery, logger);
  if (auth.client !== null) {
    const c = auth.client;
    closables.push({ name: 'kubernetes client (metrics auth)', close: () => c.close() });
  }
  if (Number(v['metrics-port']) >= 0 && core.telemetry !== null) {
    const registry = core.telemetry.registry;
    const telemetry = core.telemetry;
    const dashboard =
      decisions === null
        ? null
        : new Dashboard({
            // Every pool, by name (with `pools:`, each pool's own endpoints).
            pools: () => (pools === null ? [{ name: poolName, pool: core.pool, telemetry, stalenessMs }] : pools.members.map((m) => ({ name: m.name, pool: m.core.pool, telemetry, stalenessMs, sharedTelemetry: true }))),
            decisions,
            maxViewers: Number(v['dashboard-max-viewers']),
            registry,
          });
    const m = await naming(
      () =>
        startMetricsServer({
          registry,
          port: Number(v['metrics-port']),
          host,
          authenticator: auth.authenticator,
          debugRoutes: v['enable-debug-endpoints'] === true ? debugRoutes({ pool: core.pool, config, settings: v, version: VERSION, kvEvents: core.built.stats.reader(PRECISE_PREFIX_STATS) }) : null,
          dashboard,
        }),
      formatAddress(host, Number(v['metrics-port'])),
      'metrics-port',
    );
    metricsPort = m.port;
    closables.push({ name: 'metrics server', close: () => m.close() });
    if (auth.authenticator !== null) logger.info({ auth: auth.authenticator.kind }, 'metrics endpoint auth on');
    if (v['enable-debug-endpoints'] === true && auth.authenticator === null) {
      logger.warn('debug endpoints are enabled without --metrics-endpoint-auth: anyone who reaches the metrics port can read them');
    }
    if (dashboard !== null && auth.authenticator === null && v.demo !== true) {
      logger.warn('the dashboard is enabled without --metrics-endpoint-auth: anyone who reaches the metrics port can watch routing');
    }
  }
  const ready = readiness(front.synced, discovery.leadership);
  let grpcPort: number | null = null;
  if (Number(v['grpc-port']) >= 0) {
    const server = await naming(
      () =>
        startExtProcServer({
          ...extProcOptionsFromFlags(v),
          director: front.director,
          readiness: ready,
          logger,
          registry: core.telemetry?.registry,
        }),
      formatAddress(host, Number(v['grpc-port'])),
      (err) => ((err as { listener?: unknown }).listener === 'health' ? 'grpc-health-port' : 'grpc-port'),
    );
    grpcPort = server.port;
    closables.push({ name: 'ext_proc server', frontDoor: true, close: () => server.drain(Math.max(0, Number(v['shutdown-grace-period']))) });
  }
  // The proxy is off unless asked for; the demo turns it on at 8080 so `npm start` can be curled.
  const proxy = proxyFlagValues(v);
  const proxyPort = v.demo === true && !flags.given.has('proxy-port') ? DEMO_PROXY_PORT : proxy.port;
  let proxyUrl: string | null = null;
  if (proxyPort >= 0) {
    const server = await naming(
      () =>
        startProxyServer({
          director: front.director,
          pool: front.pool,
          port: proxyPort,
          host,
          settings: proxy.settings,
          logger,
          registry: core.telemetry?.registry ?? null,
          ready: () => ready.ready() && front.pool.size > 0,
        }),
      formatAddress(host, proxyPort),
      'proxy-port',
    );
    proxyUrl = server.url;
    closables.push({ name: 'proxy', frontDoor: true, close: () => server.drain() });
  }
  if (discovery.leaderElection !== null) closables.push(discovery.leaderElection);
  logger.info(
    { endpoints: front.pool.size, pools: pools?.members.map((m) => m.name), profile: core.built.profile.name, grpcPort, proxyUrl, metricsPort, version: VERSION },
    'switchboard started',
  );
  if (v.demo === true && proxyUrl !== null) {
    const base = proxyUrl.replace('0.0.0.0', '127.0.0.1');
    process.stdout.write(
      `\nSwitchboard is routing to ${core.pool.size} simulated vLLM pods. Try:\n\n` +
        `  curl -s ${base}/v1/completions -H 'content-type: application/json' \\\n` +
        `    -d '{"model":"sql-lora","prompt":"Write a query that counts users","max_tokens":32}'\n\n` +
        `Envoy ext_proc on :${grpcPort ?? '-'}, metrics on :${metricsPort ?? '-'}/metrics` +
        (decisions !== null && metricsPort !== null ? `, live dashboard at http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${metricsPort}/dashboard` : '') +
        `. Ctrl-C stops.\n\n`,
    );
  }
  return { core, pools, closables, metricsPort, grpcPort, proxyUrl, leadership: discovery.leadership };
}

/**
 * The check of the metrics port. `--metrics-endpoint-auth` defaults to on with InferencePool
 * discovery (as the Go EPP's default of true, which always runs in a cluster) and off otherwise.
 * When on, `--metrics-token-file` selects the one static token; without it tokens are checked
 * with Kubernetes TokenReview + SubjectAccessReview through discovery's API client (or a new one
 * from `--kubeconfig` / the service account, returned in `client` to be closed).
 */
function metricsAuth(
  flags: ParsedFlags,
  discovery: StartedDiscovery,
  logger: Logger,
): { authenticator: MetricsAuthenticator | null; client: KubeClient | null } {
  const v = flags.values;
  const file = String(v['metrics-token-file']);
  const explicit = v['metrics-endpoint-auth'];
  const on = explicit === null ? discovery.kind === 'kubernetes' : explicit === true;
  if (!on) {
    if (file !== '') throw sbError('SB_ERR_FLAG', 'metrics-token-file', 'only used with --metrics-endpoint-auth');
    return { authenticator: null, client: null };
  }
  if (file !== '') return { authenticator: new StaticTokenAuthenticator(tokenFromFile(file, 'metrics-token-file')), client: null };
  let client = discovery.client;
  let own: KubeClient | null = null;
  if (client === null) {
    try {
      client = own = new KubeClient(resolveConnection({ kubeconfig: String(v.kubeconfig) }));
    } catch (err) {
      throw sbError('SB_ERR_FLAG', 'metrics-endpoint-auth', `checks tokens with the Kubernetes API unless --metrics-token-file is given: ${(err as Error).message}`);
    }
  }
  const authenticator = new TokenReviewAuthenticator({
    client,
    onUnavailable: (message) => logger.warn({ err: message }, 'metrics endpoint auth: Kubernetes review failed; answering 503'),
  });
  return { authenticator, client: own };
}

function loadConfig(flags: ParsedFlags): EndpointPickerConfig {
  const file = String(flags.values['config-file']);
  const text = String(flags.values['config-text']);
  if (file !== '' && text !== '') throw sbError('SB_ERR_FLAG', 'config-text', 'use --config-file or --config-text, not both');
  if (file !== '') return loadConfigFile(file);
  if (text !== '') return parseConfig(text, '--config-text');
  return defaultConfig();
}

/** Parses `--endpoints host:port,host:port` (text, or the list the flag parser made of it). */
export function parseEndpointsFlag(value: string | string[]): EndpointSpec[] {
  const items = (Array.isArray(value) ? value : value.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  return items.map((s) => {
    const hp = parseHostPort(s);
    if (hp === null) throw sbError('SB_ERR_FLAG', 'endpoints', `"${s}" is not host:port`);
    return hp;
  });
}

function engineOverrides(flags: ParsedFlags): Partial<EngineConfig> {
  const v = flags.values;
  const out: Partial<EngineConfig> = {};
  const set = (flag: string, apply: (s: string) => void) => {
    if (flags.given.has(flag)) apply(String(v[flag]));
  };
  set('total-queued-requests-metric', (s) => (out.queuedRequestsSpec = s));
  set('total-running-requests-metric', (s) => (out.runningRequestsSpec = s));
  set('kv-cache-usage-percentage-metric', (s) => (out.kvUsageSpec = s));
  set('lora-info-metric', (s) => (out.loraSpec = s));
  set('cache-info-metric', (s) => (out.cacheInfoSpec = s));
  return out;
}

function waitForSignal(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      logger.info({ signal: sig }, 'shutting down');
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/**
 * Stops everything in order: all front doors at once (each turns readiness NOT_SERVING and refuses
 * new work as its close() begins, then lets open requests finish within its drain deadline), then
 * the rest in reverse start order (metrics, scrape loops, demo fleet). Failures are logged, not thrown.
 */
export async function stopAll(closables: Closable[], logger: Logger): Promise<void> {
  const stop = async (c: Closable): Promise<void> => {
    try {
      await c.close();
    } catch (err) {
      logger.warn({ component: c.name, err: isSwitchboardError(err) ? err.message : String(err) }, 'error while stopping');
    }
  };
  const reversed = [...closables].reverse();
  const doors = reversed.filter((c) => c.frontDoor === true);
  if (doors.length > 0) {
    logger.info({ components: doors.map((c) => c.name) }, 'draining: readiness NOT_SERVING, new requests refused');
    await Promise.all(doors.map(stop));
    logger.info('drained');
  }
  for (const c of reversed) if (c.frontDoor !== true) await stop(c);
  logger.info('stopped');
  logger.flush();
}

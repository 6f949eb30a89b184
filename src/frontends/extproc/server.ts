/**
 * The ext_proc server `switchboard serve` starts: the Process service on `--grpc-port` (TLS by
 * default, with the health service too, for Envoy's gRPC health check of the EPP cluster) and
 * the health service alone, in plaintext, on `--grpc-health-port` (Kubernetes gRPC probes do
 * not speak TLS).
 */
import { Server, ServerCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { Director } from '../../director/types.js';
import { servingCredentials, type ReloadableServerCredentials } from '../grpc/tls-credentials.js';
import { healthServiceDefinition } from '../health/health-codec.js';
import { HealthService, type Readiness } from '../health/health-service.js';
import { extProcServiceDefinitionWith } from './codec.js';
import { DEFAULT_MAX_BODY_BYTES } from './flags.js';
import { BodySendMode, type BodySendModeValue } from './messages.js';
import { createExtProcMetrics } from './metrics.js';
import { handleProcessStream, type ProcessCall, type StreamContext } from './stream-handler.js';
import { StreamLimits, type StreamLimitOptions } from './stream-limits.js';
import { allowStreamResets, forceShutdown, ResetRecycler } from './grpc-internals.js';

export interface ExtProcServerOptions {
  /** Picks endpoints for each request. */
  director: Director;
  /** Readiness of the pool (endpoints known, metrics collected). */
  readiness: Readiness;
  /** ext_proc port (default 9002; 0 picks a free one). */
  port?: number;
  /** Health port (default 9003; 0 picks a free one; null serves health only on the ext_proc port). */
  healthPort?: number | null;
  /** Listen address (default 0.0.0.0, as the Go EPP). */
  host?: string;
  /** TLS on the ext_proc port (default true). */
  secure?: boolean;
  /** Folder with tls.crt / tls.key; null makes a self-signed pair. */
  certPath?: string | null;
  /** How often `certPath` is re-read, in ms (default 10 s). */
  certReloadIntervalMs?: number;
  /** Body mode assumed without protocol_config (default FULL_DUPLEX_STREAMED). */
  defaultBodyMode?: BodySendModeValue;
  /** Largest request body (default 32 MiB); larger gets 413. */
  maxBodyBytes?: number;
  /** Honour the gateway's subset hint (default true). */
  honorSubsetHint?: boolean;
  /** Logger (default: silent). */
  logger?: Logger;
  /** Registry for the front door's own metrics (default: a new one, see `metricsRegistry`). */
  registry?: Registry;
  /** How often health Watch streams re-read readiness, in ms (default 1000). */
  healthPollIntervalMs?: number;
  /** Most health Watch streams at once (default 1000). */
  healthMaxWatchers?: number;
  /** Stream count, buffered-bytes and timeout limits (defaults: DEFAULT_STREAM_LIMITS). */
  limits?: Partial<StreamLimitOptions>;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per gateway connection (default 1000; 0: unlimited). */
  maxConcurrentStreamsPerConnection?: number;
  /**
   * Interval of HTTP/2 PINGs to each gateway connection, ms (default 60 s; 0: off). A connection
   * that does not answer within `keepaliveTimeoutMs` (default 20 s) is closed with its streams:
   * this is what frees a dead peer's connection, or one left open after a protocol error.
   */
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  /**
   * RST_STREAM frames per second a gateway connection may send (default 10,000; 0: Node's own
   * limit of 33/s with a burst of 1,000). Envoy resets every ext_proc stream when it is done, so
   * Node's rapid-reset defence would tear a busy gateway's connection down every ~30 s.
   */
  streamResetsPerSecond?: number;
  /**
   * Resets after which a gateway connection is asked to reconnect (GOAWAY; default 500; 0: never):
   * keeps it below nghttp2's reset limit on Node versions that cannot raise it.
   */
  resetsPerConnection?: number;
  /** Extra grpc-js server options. */
  grpcOptions?: ChannelOptions;
}

/** A running server. */
export interface ExtProcServer {
  /** Bound ext_proc port. */
  readonly port: number;
  /** Bound health port, or null when health is served only on the ext_proc port. */
  readonly healthPort: number | null;
  /** The health state (draining flips readiness). */
  readonly health: HealthService;
  /** Registry holding the front door's metrics. */
  readonly metricsRegistry: Registry;
  /** The certificate served (PEM), or null in plaintext; clients in tests trust it. */
  certificatePem(): string | null;
  /**
   * Graceful stop: readiness goes NOT_SERVING, new streams are refused, open streams may finish
   * within `graceMs` (default 30 s); then whatever is left is cut.
   */
  drain(graceMs?: number): Promise<void>;
  /** Immediate stop: open streams are cancelled. */
  close(): Promise<void>;
}

function bind(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
  });
}

function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

function tryShutdown(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      forceShutdown(server);
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Starts the ext_proc and health servers; resolves once both listen. */
export async function startExtProcServer(options: ExtProcServerOptions): Promise<ExtProcServer> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const host = options.host ?? '0.0.0.0';
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const registry = options.registry ?? new Registry();
  const health = new HealthService({ readiness: options.readiness, pollIntervalMs: options.healthPollIntervalMs, maxWatchers: options.healthMaxWatchers });
  const limits = new StreamLimits(options.limits);
  const metrics = createExtProcMetrics(registry, () => limits.bufferedBytes);
  const ctx: StreamContext = {
    director: options.director,
    defaultBodyMode: options.defaultBodyMode ?? BodySendMode.FULL_DUPLEX_STREAMED,
    maxBodyBytes,
    honorSubsetHint: options.honorSubsetHint ?? true,
    metrics,
    limits,
    resets: null,
    logger,
  };
  const perConnection = options.maxConcurrentStreamsPerConnection ?? 1000;
  const keepalive = options.keepaliveTimeMs ?? 60_000;

  const serving = servingCredentials({
    secure: options.secure ?? true,
    certPath: options.certPath ?? null,
    onReload: (event, error) => {
      if (event === 'reloaded') logger.info({ certPath: options.certPath }, 'ext_proc certificate reloaded');
      else logger.warn({ certPath: options.certPath, err: error }, 'ext_proc certificate not reloaded');
    },
  });
  const tls: ReloadableServerCredentials | null = serving.tls;

  const extProc = new Server({
    // BUFFERED mode sends the whole body in one message: leave room above the 413 threshold
    // so oversized bodies get a clear 413 instead of a transport error.
    'grpc.max_receive_message_length': maxBodyBytes + 1024 * 1024,
    'grpc.max_send_message_length': -1,
    // Nothing reads channelz here; it costs bookkeeping on every call.
    'grpc.enable_channelz': 0,
    // Envoy opens another connection when one is full; a single client cannot open unbounded streams.
    ...(perConnection > 0 ? { 'grpc.max_concurrent_streams': perConnection } : {}),
    // Find dead gateway connections (half-open TCP, or a peer that went silent after a GOAWAY).
    ...(keepalive > 0 ? { 'grpc.keepalive_time_ms': keepalive, 'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? 20_000 } : {}),
    ...options.grpcOptions,
  });
  allowStreamResets(extProc, options.streamResetsPerSecond ?? 10_000);
  ctx.resets = new ResetRecycler(extProc, options.resetsPerConnection ?? 500);
  extProc.addService(extProcServiceDefinitionWith(() => metrics.protocolError('undecodable')), {
    Process: (call: ProcessCall) => handleProcessStream(call, ctx),
  });
  extProc.addService(healthServiceDefinition, health.implementation());

  let healthServer: Server | null = null;
  let port: number;
  let healthPort: number | null = null;
  // Which listener a bind error belongs to, so the CLI can name the port flag to change.
  let listener: 'ext_proc' | 'health' = 'ext_proc';
  let address = hostPort(host, options.port ?? 9002);
  try {
    port = await bind(extProc, address, serving.credentials);
    if (options.healthPort !== null) {
      listener = 'health';
      address = hostPort(host, options.healthPort ?? 9003);
      healthServer = new Server({ 'grpc.enable_channelz': 0 });
      healthServer.addService(healthServiceDefinition, health.implementation());
      healthPort = await bind(healthServer, address, ServerCredentials.createInsecure());
    }
  } catch (err) {
    forceShutdown(extProc);
    if (healthServer !== null) forceShutdown(healthServer);
    if (err instanceof Error) Object.assign(err, { listener, bindAddress: address });
    throw err;
  }
  serving.reloader?.start(options.certReloadIntervalMs ?? 10_000);
  logger.info({ port, healthPort, secure: tls !== null }, 'ext_proc server listening');

  let stopped: Promise<void> | null = null;
  const stop = (graceMs: number): Promise<void> => {
    if (stopped !== null) return stopped;
    health.setDraining();
    serving.reloader?.stop();
    stopped = (async () => {
      await (graceMs > 0 ? tryShutdown(extProc, graceMs) : (forceShutdown(extProc), Promise.resolve()));
      limits.stop();
      health.close();
      if (healthServer !== null) forceShutdown(healthServer);
    })();
    return stopped;
  };

  return {
    port,
    healthPort,
    health,
    metricsRegistry: registry,
    certificatePem: () => tls?.keyPair.cert ?? null,
    drain: (graceMs = 30_000) => stop(graceMs),
    close: () => stop(0),
  };
}

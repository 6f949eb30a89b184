/**
 * The proxy's command-line flags, in the shape of the CLI's `FlagSpec` table so `serve` can
 * append them to its own (`[...SERVE_FLAGS, ...PROXY_FLAGS]`), and the function that turns the
 * parsed values into `startProxyServer` options.
 */
import { sbError } from '../../errors.js';
import { DEFAULT_PROXY_SETTINGS, type ProxySettingsInput } from './options.js';

/** One flag, structurally the CLI's `FlagSpec` (durations in ms). */
export interface ProxyFlagSpec {
  name: string;
  type: 'string' | 'int' | 'bool' | 'duration';
  default: string | number | boolean;
  help: string;
  /** Bounds the CLI parser checks (durations in ms); proxyFlagValues checks the same. */
  min?: number;
  max?: number;
}

const d = DEFAULT_PROXY_SETTINGS;

/** Every proxy flag, in help order. The proxy is off unless `--proxy-port` is given. */
export const PROXY_FLAGS: readonly ProxyFlagSpec[] = [
  { name: 'proxy-port', type: 'int', min: -1, max: 65535, default: -1, help: 'port of the OpenAI-compatible proxy, e.g. 8080 (0: any free port, -1: off)' },
  { name: 'proxy-retries', type: 'int', min: 0, max: 100, default: d.retries.max, help: 'extra attempts on other endpoints when a request fails before its response started' },
  { name: 'proxy-repick', type: 'bool', default: d.retries.repick, help: 'when fallback endpoints are used up, ask the scheduler for another pick' },
  { name: 'proxy-connect-timeout', type: 'duration', min: 1, default: d.timeouts.connectMs, help: 'timeout of a TCP connect to a pod' },
  { name: 'proxy-first-byte-timeout', type: 'duration', min: 0, default: d.timeouts.firstByteMs, help: 'timeout from sending a request to the pod answering (0: none)' },
  { name: 'proxy-idle-stream-timeout', type: 'duration', min: 0, default: d.timeouts.idleStreamMs, help: 'longest silence between two chunks of a response (0: none)' },
  { name: 'proxy-max-body-bytes', type: 'int', min: 1, default: d.maxBodyBytes, help: 'largest request body accepted (413 above it)' },
  { name: 'proxy-max-buffered-request-bytes', type: 'int', min: 0, default: d.maxBufferedBytes, help: 'most request-body bytes all proxy requests together hold (503 above it; 0: no limit)' },
  { name: 'proxy-lingering-bytes', type: 'int', min: 0, default: d.lingeringClose.maxBytes, help: 'of a body refused while it arrives (413, 503), how many more bytes are read and dropped so the client sees the answer (0: close at once)' },
  { name: 'proxy-lingering-time', type: 'duration', min: 0, default: d.lingeringClose.timeMs, help: 'how long a connection whose body was refused stays open to read and drop the rest (0: close at once)' },
  { name: 'proxy-max-connections-per-endpoint', type: 'int', min: 1, default: d.pool.connectionsPerEndpoint, help: 'keep-alive connections per pod at most' },
  { name: 'proxy-keepalive-timeout', type: 'duration', min: 1, default: d.pool.keepAliveMs, help: 'how long an idle connection to a pod stays open' },
  { name: 'proxy-models-refresh', type: 'duration', min: 0, default: d.modelsRefreshMs, help: 'how often /v1/models is refreshed from the pods' },
  { name: 'proxy-drain-timeout', type: 'duration', min: 0, default: d.drainTimeoutMs, help: 'on shutdown, how long in-flight proxy requests may finish' },
];

/** The proxy part of the parsed command line. */
export interface ProxyFlagValues {
  /** -1 when the proxy is off; 0 for any free port. */
  port: number;
  settings: ProxySettingsInput;
}

/**
 * Reads the proxy flags from parsed values (flag name -> value, as the CLI parser returns them;
 * absent names take their defaults). Throws SB_ERR_FLAG naming the flag for an out-of-range value.
 */
export function proxyFlagValues(values: Readonly<Record<string, unknown>>): ProxyFlagValues {
  const num = (name: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = values[name] ?? defaultOf(name);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      throw sbError('SB_ERR_FLAG', name, `must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const bool = (name: string): boolean => {
    const v = values[name] ?? defaultOf(name);
    if (typeof v !== 'boolean') throw sbError('SB_ERR_FLAG', name, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  return {
    port: num('proxy-port', -1, 65535),
    settings: {
      maxBodyBytes: num('proxy-max-body-bytes', 1),
      maxBufferedBytes: num('proxy-max-buffered-request-bytes', 0),
      lingeringClose: { maxBytes: num('proxy-lingering-bytes', 0), timeMs: num('proxy-lingering-time', 0) },
      timeouts: {
        connectMs: num('proxy-connect-timeout', 1),
        firstByteMs: num('proxy-first-byte-timeout', 0),
        idleStreamMs: num('proxy-idle-stream-timeout', 0),
      },
      pool: {
        connectionsPerEndpoint: num('proxy-max-connections-per-endpoint', 1),
        keepAliveMs: num('proxy-keepalive-timeout', 1),
      },
      retries: { max: num('proxy-retries', 0, 100), repick: bool('proxy-repick') },
      modelsRefreshMs: num('proxy-models-refresh', 0),
      drainTimeoutMs: num('proxy-drain-timeout', 0),
    },
  };
}

function defaultOf(name: string): string | number | boolean {
  const spec = PROXY_FLAGS.find((f) => f.name === name);
  if (spec === undefined) throw new Error(`unknown proxy flag ${name}`);
  return spec.default;
}

/**
 * Command-line flags of the ext_proc front door, as a table the CLI merges into `switchboard
 * serve` (names and defaults follow the Go EPP where it has the flag), and their conversion
 * into `ExtProcServerOptions`.
 */
import { sbError } from '../../errors.js';
import { parseDurationMs } from '../../util/duration.js';
import { BodySendMode, type BodySendModeValue } from './messages.js';
import { DEFAULT_STREAM_LIMITS, type StreamLimitOptions } from './stream-limits.js';

/**
 * One flag, shaped like `FlagSpec` in src/cli/flags.ts so the CLI can spread this table into
 * `SERVE_FLAGS` (the front door does not import the CLI: dependencies point inward).
 */
export interface ExtProcFlagSpec {
  name: string;
  type: 'int' | 'bool' | 'string' | 'duration';
  default: number | boolean | string;
  help: string;
  /** Bounds the CLI parser checks (durations in ms). */
  min?: number;
  max?: number;
}

/** Default for `--max-body-bytes`: 32 MiB, room for very long prompts and inline images. */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

/**
 * The front door's own flags. It also reads `grpc-port` (9002), `grpc-health-port` (9003) and
 * `bind-address`, which `SERVE_FLAGS` already declares. (`--disable-endpoint-subset-filter` is
 * the director's: it ignores the hint there, so the front door keeps passing it.)
 */
export const extProcFlagSpecs: readonly ExtProcFlagSpec[] = [
  {
    name: 'secure-serving',
    type: 'bool',
    default: true,
    help: 'serve ext_proc over TLS (a self-signed certificate unless --cert-path is set)',
  },
  {
    name: 'cert-path',
    type: 'string',
    default: '',
    help: 'folder with tls.crt and tls.key for ext_proc TLS, reloaded when the files change',
  },
  {
    name: 'cert-reload-interval',
    min: 0,
    type: 'duration',
    default: 10_000,
    help: 'how often the --cert-path files are checked for a new certificate',
  },
  {
    name: 'default-body-mode',
    type: 'string',
    default: 'FULL_DUPLEX_STREAMED',
    help: 'body mode assumed when the gateway sends no protocol_config (Envoy < 1.34): FULL_DUPLEX_STREAMED or BUFFERED',
  },
  {
    name: 'max-body-bytes',
    min: 1,
    type: 'int',
    default: DEFAULT_MAX_BODY_BYTES,
    help: 'largest request body accepted over ext_proc; larger bodies get 413',
  },
  {
    name: 'extproc-request-timeout',
    min: 0,
    type: 'duration',
    default: DEFAULT_STREAM_LIMITS.requestTimeoutMs,
    help: 'time a gateway has to deliver a whole request (headers and body) on a Process stream; then 408 (0: none)',
  },
  {
    name: 'extproc-idle-timeout',
    min: 0,
    type: 'duration',
    default: DEFAULT_STREAM_LIMITS.idleTimeoutMs,
    help: 'longest silence of the gateway on a routed Process stream before it is ended (0: none)',
  },
  {
    name: 'max-active-streams',
    min: 0,
    type: 'int',
    default: DEFAULT_STREAM_LIMITS.maxActiveStreams,
    help: 'most ext_proc streams open at once over all connections; more are answered 503 (0: no limit)',
  },
  {
    name: 'grpc-max-concurrent-streams',
    min: 0,
    type: 'int',
    default: 1000,
    help: 'HTTP/2 max concurrent streams per gateway connection on the ext_proc port (0: no limit)',
  },
  {
    name: 'grpc-keepalive-time',
    min: 0,
    type: 'duration',
    default: 60_000,
    help: 'interval of HTTP/2 pings to gateway connections on the ext_proc port; one unanswered for 20s is closed with its streams (0: off)',
  },
  {
    name: 'grpc-stream-reset-rate',
    min: 0,
    type: 'int',
    default: 10_000,
    help: 'RST_STREAM frames per second a gateway connection may send (Envoy resets every ext_proc stream; 0: Node\'s 33/s rapid-reset limit)',
  },
  {
    name: 'max-buffered-request-bytes',
    min: 0,
    type: 'int',
    default: DEFAULT_STREAM_LIMITS.maxBufferedBytes,
    help: 'most request-body bytes all ext_proc streams together hold before end_of_stream; beyond it 503 (0: no limit)',
  },
];

/** Defaults of the flags read here but declared by the CLI. */
const SHARED_DEFAULTS: Readonly<Record<string, unknown>> = {
  'grpc-port': 9002,
  'grpc-health-port': 9003,
  'bind-address': '0.0.0.0',
};

/** Parses a body mode name (Envoy's enum names, case-insensitive, `-` or `_`). */
export function parseBodyMode(text: string): BodySendModeValue {
  const key = text.trim().toUpperCase().replace(/-/g, '_');
  if (key === 'FULL_DUPLEX_STREAMED' || key === 'BUFFERED') return BodySendMode[key];
  throw sbError('SB_ERR_FLAG', 'default-body-mode', `"${text}" is not FULL_DUPLEX_STREAMED or BUFFERED`);
}

/** The options the flags set, from parsed flag values keyed by flag name. */
export function extProcOptionsFromFlags(values: Readonly<Record<string, unknown>>): {
  host: string;
  port: number;
  healthPort: number;
  secure: boolean;
  certPath: string | null;
  defaultBodyMode: BodySendModeValue;
  maxBodyBytes: number;
  limits: StreamLimitOptions;
  maxConcurrentStreamsPerConnection: number;
  keepaliveTimeMs: number;
  certReloadIntervalMs: number;
  streamResetsPerSecond: number;
} {
  const get = (name: string): unknown => values[name] ?? SHARED_DEFAULTS[name] ?? extProcFlagSpecs.find((f) => f.name === name)?.default;
  const port = (name: string): number => {
    const n = Number(get(name));
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw sbError('SB_ERR_FLAG', name, `"${String(get(name))}" is not a port`);
    return n;
  };
  const maxBodyBytes = Number(get('max-body-bytes'));
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw sbError('SB_ERR_FLAG', 'max-body-bytes', `"${String(get('max-body-bytes'))}" is not a positive integer`);
  }
  const count = (name: string): number => {
    const n = Number(get(name));
    if (!Number.isInteger(n) || n < 0) throw sbError('SB_ERR_FLAG', name, `"${String(get(name))}" is not a count >= 0`);
    return n;
  };
  const duration = (name: string): number => {
    const v = get(name);
    // The CLI parser yields milliseconds; text (`30s`) comes from programmatic callers.
    const ms = typeof v === 'number' ? v : parseDurationMs(String(v));
    if (ms === null || !Number.isFinite(ms) || ms < 0) throw sbError('SB_ERR_FLAG', name, `"${String(v)}" is not a duration`);
    return ms;
  };
  const certPath = String(get('cert-path'));
  return {
    host: String(get('bind-address')),
    port: port('grpc-port'),
    healthPort: port('grpc-health-port'),
    secure: get('secure-serving') === true || get('secure-serving') === 'true',
    certPath: certPath === '' ? null : certPath,
    defaultBodyMode: parseBodyMode(String(get('default-body-mode'))),
    maxBodyBytes,
    limits: {
      requestTimeoutMs: duration('extproc-request-timeout'),
      idleTimeoutMs: duration('extproc-idle-timeout'),
      maxActiveStreams: count('max-active-streams'),
      maxBufferedBytes: count('max-buffered-request-bytes'),
    },
    maxConcurrentStreamsPerConnection: count('grpc-max-concurrent-streams'),
    keepaliveTimeMs: duration('grpc-keepalive-time'),
    certReloadIntervalMs: Math.max(100, duration('cert-reload-interval')),
    streamResetsPerSecond: count('grpc-stream-reset-rate'),
  };
}

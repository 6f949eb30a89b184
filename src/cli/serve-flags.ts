/**
 * Flags of `switchboard serve`. Names and defaults follow the Go EPP where it has the flag, so
 * its command lines (the upstream manifests and Helm charts, llm-d's router chart) work
 * unchanged; flags that do nothing here say why (`ignored`), and serve logs that once at start.
 * Other tables spread in below: add a flag by adding a row.
 */
import { extProcFlagSpecs } from '../frontends/extproc/flags.js';
import { PROXY_FLAGS } from '../frontends/proxy/flags.js';
import { LOG_LEVELS } from '../telemetry/logger.js';
import { DISCOVERY_FLAGS } from './discovery-flags.js';
import type { FlagSpec } from './flags.js';

/** Port flags: 0 picks a free port, -1 turns the listener off. */
const PORT = { type: 'int', min: -1, max: 65535 } as const;

export const SERVE_FLAGS: FlagSpec[] = [
  // Ports.
  { name: 'grpc-port', ...PORT, default: 9002, help: 'gRPC port of the Envoy ext_proc server (0: any free port, -1: off)' },
  { name: 'grpc-health-port', type: 'int', min: 0, max: 65535, default: 9003, help: 'gRPC health-checking port (0: any free port)' },
  { name: 'metrics-port', ...PORT, default: 9090, help: 'Prometheus metrics port (0: any free port, -1: off)' },
  {
    name: 'bind-address',
    type: 'string',
    default: '0.0.0.0',
    help: 'address the servers listen on (with --demo and without this flag: 127.0.0.1; give --bind-address=0.0.0.0 to open the demo)',
  },
  // Config.
  { name: 'config-file', type: 'string', default: '', help: 'EndpointPickerConfig YAML/JSON file' },
  { name: 'config-text', type: 'string', default: '', help: 'EndpointPickerConfig as text' },
  { name: 'print-config', type: 'string', default: '', bare: 'yaml', help: 'print the effective config (every default filled in) and exit: --print-config for YAML, --print-config=json for JSON' },
  // Endpoints.
  { name: 'endpoints', type: 'list', items: 'host-port', default: [], help: 'static endpoints, comma-separated host:port' },
  { name: 'demo', type: 'bool', default: false, help: 'start an embedded simulated vLLM fleet on loopback and route to it (proxy on 127.0.0.1:8080)' },
  { name: 'demo-pods', type: 'int', min: 1, max: 1024, default: 3, help: 'pods in the --demo fleet' },
  { name: 'pool-name', type: 'string', default: '', help: 'InferencePool name (Kubernetes discovery; metric label)' },
  { name: 'pool-namespace', type: 'string', default: '', help: 'InferencePool namespace (default: $NAMESPACE or "default")' },
  { name: 'pool-group', type: 'string', default: 'inference.networking.k8s.io', help: 'InferencePool API group' },
  { name: 'endpoint-selector', type: 'string', default: '', help: 'pod label selector key=value,... (Kubernetes without CRDs)' },
  { name: 'endpoint-target-ports', type: 'string', default: '', help: 'target ports for --endpoint-selector, comma-separated' },
  // Metrics collection.
  { name: 'refresh-metrics-interval', type: 'duration', default: 50, help: 'interval between scrapes of one endpoint' },
  { name: 'refresh-prometheus-metrics-interval', type: 'duration', default: 5000, help: 'interval of pool gauge refresh', compat: 'pool gauges are computed at scrape time' },
  { name: 'metrics-staleness-threshold', type: 'duration', default: 2000, help: 'metrics older than this are stale; stale endpoints are not picked while fresh ones exist (0 disables)' },
  { name: 'scrape-timeout', type: 'duration', default: 1000, help: 'deadline of one whole metrics scrape' },
  { name: 'model-server-metrics-port', type: 'int', min: 0, max: 65535, default: 0, help: 'port of the model servers\' /metrics (0: the target port)' },
  { name: 'model-server-metrics-path', type: 'string', default: '/metrics', help: 'path of the model servers\' metrics page' },
  { name: 'model-server-metrics-scheme', type: 'enum', values: ['http', 'https'], default: 'http', help: 'scheme of metrics scrapes' },
  { name: 'model-server-metrics-https-insecure-skip-verify', type: 'bool', default: true, help: 'skip TLS verification of https scrapes' },
  { name: 'total-queued-requests-metric', type: 'string', default: '', help: 'override the queue metric of the default engine' },
  { name: 'total-running-requests-metric', type: 'string', default: '', help: 'override the running-requests metric of the default engine' },
  { name: 'kv-cache-usage-percentage-metric', type: 'string', default: '', help: 'override the KV utilization metric of the default engine' },
  { name: 'lora-info-metric', type: 'string', default: '', help: 'override the LoRA info metric of the default engine ("" turns LoRA scraping off)' },
  { name: 'cache-info-metric', type: 'string', default: '', help: 'override the cache config metric of the default engine' },
  // KV events (precise-prefix-cache-scorer); a pod's switchboard.dev/kv-events-port annotation wins over both.
  { name: 'kv-events-port', type: 'int', min: 0, max: 65535, default: 0, help: 'port of each model server\'s vLLM KV-events publisher (0: the scorer\'s socketPort, default 5557)' },
  { name: 'kv-events-replay-port', type: 'int', min: -1, max: 65535, default: -1, help: 'port of each model server\'s KV-events replay socket (-1: the scorer\'s replaySocketPort; 0: no replay)' },
  // Scheduling.
  { name: 'disable-endpoint-subset-filter', type: 'bool', default: false, help: 'ignore the gateway\'s subset hint' },
  { name: 'plugin-timing', type: 'bool', default: true, help: 'record inference_extension_plugin_duration_seconds for every plugin call' },
  // Logging. Precedence: --log-level, then --zap-log-level, then --v; --log-pretty, then --zap-encoder, then --zap-devel.
  { name: 'log-level', type: 'enum', values: LOG_LEVELS, default: '', help: 'log level (default info, or from --zap-log-level or --v)' },
  { name: 'log-pretty', type: 'enum', values: ['auto', 'true', 'false'], default: 'auto', help: 'pretty logs: auto (when stdout is a TTY), true or false' },
  { name: 'v', type: 'int', default: 0, help: 'Go EPP verbosity; 3+ is debug, 5+ is trace' },
  { name: 'zap-log-level', type: 'string', default: '', help: 'Go EPP log level: debug, info, warn, error, dpanic, panic, fatal, or an integer verbosity > 0 (3+ debug, 5+ trace)' },
  { name: 'zap-encoder', type: 'enum', values: ['json', 'console'], default: '', help: 'Go EPP log format: json (JSON lines) or console (pretty)' },
  { name: 'zap-devel', type: 'bool', default: false, help: 'Go EPP development logging: pretty logs unless --zap-encoder or --log-pretty says otherwise' },
  { name: 'zap-stacktrace-level', type: 'enum', values: ['info', 'error', 'panic'], default: 'error', help: 'Go EPP stack trace level', ignored: 'errors carry their stack in the log line as pino writes it' },
  {
    name: 'zap-time-encoding',
    type: 'enum',
    values: ['epoch', 'millis', 'nano', 'iso8601', 'rfc3339', 'rfc3339nano'],
    default: 'millis',
    help: 'Go EPP log time format',
    ignored: 'log times are epoch milliseconds',
  },
  // Accepted for Go EPP command lines.
  { name: 'health-checking', type: 'bool', default: false, help: 'register health on the ext_proc port too', compat: 'health is always served on both gRPC ports' },
  { name: 'enable-pprof', type: 'bool', default: false, help: 'Go profiling (on by default in the Go EPP)', ignored: 'Go profiling does not apply; use node --inspect' },
  { name: 'tracing', type: 'bool', default: false, help: 'OpenTelemetry tracing (on by default in the Go EPP)', ignored: 'tracing is not implemented' },
  { name: 'enable-cert-reload', type: 'bool', default: true, help: 'reload the --cert-path certificate when it changes', ignored: 'the --cert-path files are always watched (every --cert-reload-interval); turning that off is not supported' },
  { name: 'ha-enable-leader-election', type: 'bool', default: false, help: 'active-passive HA via a Lease' },
  { name: 'metrics-endpoint-auth', type: 'bool', default: null, help: 'require a bearer token on /metrics and /debug/*, checked with Kubernetes TokenReview + SubjectAccessReview, or against --metrics-token-file when given (default: on with InferencePool discovery, else off)' },
  { name: 'metrics-token-file', type: 'string', default: '', help: 'file holding the one bearer token of --metrics-endpoint-auth (no Kubernetes); re-read when it changes' },
  { name: 'metrics-names', type: 'string', default: 'both', help: 'names of the exported EPP metrics: gie (inference_*), llm-d (llm_d_epp_*) or both' },
  { name: 'enable-dashboard', type: 'bool', default: null, help: 'serve the live dashboard at /dashboard on the metrics port (behind the token when auth is on; default: on with --demo)' },
  { name: 'dashboard-max-viewers', type: 'int', min: 1, max: 1000, default: 8, help: 'dashboard viewers at once; more get 503' },
  { name: 'enable-debug-endpoints', type: 'bool', default: false, help: 'serve /debug/endpoints and /debug/config on the metrics port (behind the token when auth is on)' },
  // Shutdown.
  { name: 'shutdown-grace-period', type: 'duration', default: 30_000, help: 'on SIGTERM, how long open ext_proc streams may finish after readiness turns NOT_SERVING' },
  // Accepted for llm-d router command lines (pkg/epp/server/options.go of llm-d/llm-d-router).
  { name: 'drain-timeout', type: 'duration', default: null, aliasOf: 'shutdown-grace-period', help: 'llm-d router name of --shutdown-grace-period' },
  { name: 'grpc-max-recv-msg-size', type: 'string', default: '', help: 'llm-d router gRPC receive limit, e.g. 10MiB', ignored: 'the ext_proc receive limit follows --max-body-bytes' },
  { name: 'grpc-max-send-msg-size', type: 'string', default: '', help: 'llm-d router gRPC send limit', ignored: 'ext_proc responses are not size-limited' },
  { name: 'emit-endpoint-scores', type: 'bool', default: false, help: 'llm-d router: emit per-endpoint scores', ignored: 'not implemented' },
  { name: 'enable-grpc-stream-metrics', type: 'bool', default: true, help: 'llm-d router: gRPC stream metrics', ignored: 'ext_proc stream metrics are always recorded' },
  { name: 'tls-min-version', type: 'string', default: '', help: 'llm-d router: lowest TLS version of ext_proc', ignored: 'Node\'s TLS defaults (TLS 1.2 and up) apply' },
  { name: 'tls-cipher-suites', type: 'list', default: [], help: 'llm-d router: TLS cipher suites of ext_proc', ignored: 'Node\'s default cipher suites apply' },
  { name: 'metrics-client-ca-file', type: 'string', default: '', help: 'llm-d router: CA of metrics clients', ignored: 'the metrics port serves plain HTTP' },
  { name: 'metrics-cert-dir', type: 'string', default: '', help: 'llm-d router: metrics TLS certificate folder', ignored: 'the metrics port serves plain HTTP' },
  { name: 'allow-experimental-plugins', type: 'bool', default: true, help: 'llm-d router: allow experimental plugins', ignored: 'every plugin is available; they cannot be turned off' },
  // Front doors.
  ...extProcFlagSpecs,
  ...PROXY_FLAGS,
  ...DISCOVERY_FLAGS,
];

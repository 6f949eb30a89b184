/**
 * Flags of `switchboard serve`. Names and defaults follow the Go EPP where it has the flag, so
 * its command lines work unchanged; flags it has that do nothing here say so in `compat`.
 */
import { extProcFlagSpecs } from '../frontends/extproc/flags.js';
import { PROXY_FLAGS } from '../frontends/proxy/flags.js';
import { DISCOVERY_FLAGS } from './discovery-flags.js';
import type { FlagSpec } from './flags.js';

export const SERVE_FLAGS: FlagSpec[] = [
  // Ports.
  { name: 'grpc-port', type: 'int', default: 9002, help: 'gRPC port of the Envoy ext_proc server (0: any free port, -1: off)' },
  { name: 'grpc-health-port', type: 'int', default: 9003, help: 'gRPC health-checking port' },
  { name: 'metrics-port', type: 'int', default: 9090, help: 'Prometheus metrics port (0: any free port, -1: off)' },
  { name: 'bind-address', type: 'string', default: '0.0.0.0', help: 'address the servers listen on' },
  // Config.
  { name: 'config-file', type: 'string', default: '', help: 'EndpointPickerConfig YAML/JSON file' },
  { name: 'config-text', type: 'string', default: '', help: 'EndpointPickerConfig as text' },
  { name: 'print-config', type: 'string', default: '', bare: 'yaml', help: 'print the effective config (every default filled in) and exit: --print-config for YAML, --print-config=json for JSON' },
  // Endpoints.
  { name: 'endpoints', type: 'string', default: '', help: 'static endpoints, comma-separated host:port' },
  { name: 'demo', type: 'bool', default: false, help: 'start an embedded simulated vLLM fleet and route to it' },
  { name: 'demo-pods', type: 'int', default: 3, help: 'pods in the --demo fleet' },
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
  { name: 'model-server-metrics-port', type: 'int', default: 0, help: 'port of the model servers\' /metrics (0: the target port)' },
  { name: 'model-server-metrics-path', type: 'string', default: '/metrics', help: 'path of the model servers\' metrics page' },
  { name: 'model-server-metrics-scheme', type: 'string', default: 'http', help: 'scheme of metrics scrapes (http or https)' },
  { name: 'model-server-metrics-https-insecure-skip-verify', type: 'bool', default: true, help: 'skip TLS verification of https scrapes' },
  { name: 'total-queued-requests-metric', type: 'string', default: '', help: 'override the queue metric of the default engine' },
  { name: 'total-running-requests-metric', type: 'string', default: '', help: 'override the running-requests metric of the default engine' },
  { name: 'kv-cache-usage-percentage-metric', type: 'string', default: '', help: 'override the KV utilization metric of the default engine' },
  { name: 'lora-info-metric', type: 'string', default: '', help: 'override the LoRA info metric of the default engine' },
  { name: 'cache-info-metric', type: 'string', default: '', help: 'override the cache config metric of the default engine' },
  // Scheduling.
  { name: 'disable-endpoint-subset-filter', type: 'bool', default: false, help: 'ignore the gateway\'s subset hint' },
  { name: 'plugin-timing', type: 'bool', default: true, help: 'record inference_extension_plugin_duration_seconds for every plugin call' },
  // Logging.
  { name: 'log-level', type: 'string', default: '', help: 'trace, debug, info, warn, error or silent (default info, or from --v)' },
  { name: 'log-pretty', type: 'string', default: 'auto', help: 'pretty logs: auto (when stdout is a TTY), true or false' },
  { name: 'v', type: 'int', default: 0, help: 'Go EPP verbosity; 3+ is debug, 5+ is trace (--log-level wins)' },
  // Accepted for Go EPP command lines.
  { name: 'health-checking', type: 'bool', default: false, help: 'register health on the ext_proc port too', compat: 'health is always served on both gRPC ports' },
  { name: 'enable-pprof', type: 'bool', default: true, help: 'Go profiling', compat: 'ignored; use node --inspect' },
  { name: 'tracing', type: 'bool', default: false, help: 'OpenTelemetry tracing', compat: 'ignored' },
  { name: 'ha-enable-leader-election', type: 'bool', default: false, help: 'active-passive HA via a Lease' },
  { name: 'metrics-endpoint-auth', type: 'bool', default: null, help: 'require a bearer token on /metrics and /debug/*, checked with Kubernetes TokenReview + SubjectAccessReview, or against --metrics-token-file when given (default: on with InferencePool discovery, else off)' },
  { name: 'metrics-token-file', type: 'string', default: '', help: 'file holding the one bearer token of --metrics-endpoint-auth (no Kubernetes); re-read when it changes' },
  { name: 'metrics-names', type: 'string', default: 'both', help: 'names of the exported EPP metrics: gie (inference_*), llm-d (llm_d_epp_*) or both' },
  { name: 'enable-debug-endpoints', type: 'bool', default: false, help: 'serve /debug/endpoints and /debug/config on the metrics port (behind the token when auth is on)' },
  // Shutdown.
  { name: 'shutdown-grace-period', type: 'duration', default: 30_000, help: 'on SIGTERM, how long open ext_proc streams may finish after readiness turns NOT_SERVING' },
  // Front doors.
  ...extProcFlagSpecs,
  ...PROXY_FLAGS,
  ...DISCOVERY_FLAGS,
];

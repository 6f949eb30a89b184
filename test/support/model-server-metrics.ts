/**
 * Model servers as far as an endpoint picker sees them: real HTTP servers on loopback serving a
 * vLLM-format /metrics page (queue, running, KV-cache usage, LoRA adapters), with state a test
 * can change. Each listens on its own loopback address (127.0.0.<n>) so that endpoints differ by
 * IP, as pods do (the subset hint matches by IP).
 */
import { createServer, type Server } from 'node:http';

/** What one fake pod reports. */
export interface PodState {
  waiting: number;
  running?: number;
  kv: number;
  /** Running LoRA adapters. */
  active?: string[];
  waitingAdapters?: string[];
  /** `max_lora`; 0 (the Go harness's fake pods) means unknown. */
  maxLora?: number;
}

/** vLLM exposition text for `s` (v0/early-v1 names, as the Go EPP's default mapping reads). */
export function vllmMetricsText(s: PodState): string {
  const lines = [
    '# HELP vllm:num_requests_waiting Number of requests waiting to be processed.',
    '# TYPE vllm:num_requests_waiting gauge',
    `vllm:num_requests_waiting{model_name="base"} ${s.waiting}`,
    '# HELP vllm:num_requests_running Number of requests in model execution batches.',
    '# TYPE vllm:num_requests_running gauge',
    `vllm:num_requests_running{model_name="base"} ${s.running ?? 0}`,
    '# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.',
    '# TYPE vllm:gpu_cache_usage_perc gauge',
    `vllm:gpu_cache_usage_perc{model_name="base"} ${s.kv}`,
  ];
  if (s.active !== undefined || s.waitingAdapters !== undefined) {
    lines.push(
      '# HELP vllm:lora_requests_info Running stats on lora requests.',
      '# TYPE vllm:lora_requests_info gauge',
      `vllm:lora_requests_info{max_lora="${s.maxLora ?? 0}",running_lora_adapters="${(s.active ?? []).join(',')}",waiting_lora_adapters="${(s.waitingAdapters ?? []).join(',')}"} 1.7e+09`,
    );
  }
  return lines.join('\n') + '\n';
}

/** One running fake pod. */
export interface MetricsPod {
  /** Loopback address it listens on, e.g. 127.0.0.2. */
  address: string;
  /** Port of its /metrics server. */
  metricsPort: number;
  state: PodState;
  /** /metrics requests served so far. */
  scrapes: number;
  close(): Promise<void>;
}

/** Starts a pod's /metrics server on `address` (ephemeral port). */
export function startMetricsPod(address: string, state: PodState): Promise<MetricsPod> {
  return new Promise((resolve, reject) => {
    let server: Server;
    const pod: MetricsPod = {
      address,
      metricsPort: 0,
      state,
      scrapes: 0,
      close: () => new Promise((r) => server.close(() => r())),
    };
    server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      pod.scrapes++;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(vllmMetricsText(pod.state));
    });
    server.keepAliveTimeout = 1000;
    server.on('error', reject);
    server.listen(0, address, () => {
      const a = server.address();
      pod.metricsPort = typeof a === 'object' && a !== null ? a.port : 0;
      resolve(pod);
    });
  });
}

/**
 * The `/metrics` page of a simulated pod in JetStream mode (`--engine jetstream`, the TPU
 * profile's server): JetStream's metric names, types and labels as its Prometheus collector
 * defines them (AI-Hypercomputer/JetStream `jetstream/core/metrics/prometheus.py`): every series
 * carries `id` (the host name) and `model_name` (dashes turned into underscores); per-engine
 * gauges add `idx`. The Go EPP and GKE read `jetstream_prefill_backlog_size` as the queue and
 * `jetstream_slots_used_percentage` (a fraction despite the name) as the load.
 */
import type { Engine } from '../engine/engine.js';
import { escapeLabel, histogram, promNumber } from './metrics-text.js';

/** JetStream drops a model name that is not a valid Prometheus name once dashes become underscores. */
function modelLabel(model: string): string | null {
  const s = model.replace(/-/g, '_');
  return /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(s) ? s : null;
}

/** Renders the page; `id` is the pod's host name. */
export function renderJetstreamMetrics(engine: Engine, modelName: string, id: string, createdAt: number, rejected: ReadonlyMap<string, number> = new Map()): string {
  const model = modelLabel(modelName);
  const base = `id="${escapeLabel(id)}"${model !== null ? `,model_name="${model}"` : ''}`;
  const perEngine = `${base},idx="0"`;
  const state = engine.state();
  const c = engine.counters;
  const p = engine.profile;
  const out: string[] = [];
  const gauge = (name: string, help: string, labels: string, value: number): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}{${labels}} ${promNumber(value)}`);
  };
  gauge('jetstream_prefill_backlog_size', 'Size of prefill queue', base, state.waiting);
  // Requests prefilled and waiting for a decode slot: the simulator's engine has no such stage.
  gauge('jetstream_transfer_backlog_size', 'Size of transfer queue', perEngine, 0);
  gauge('jetstream_generate_backlog_size', 'Size of generate queue', perEngine, 0);
  gauge('jetstream_slots_used_percentage', 'The percentage of decode slots currently being used', perEngine, p.maxNumSeqs > 0 ? state.running / p.maxNumSeqs : 0);
  gauge('num_requests_waiting', 'Number of requests waiting to be processed for inference.', base, state.waiting);
  gauge('kv_cache_utilization_perc', 'kv-cache utilization % by the requests under processing.', base, state.kvUsage);
  out.push(
    '# HELP jetstream_request_success_count_total Number of requests successfully completed',
    '# TYPE jetstream_request_success_count_total counter',
    `jetstream_request_success_count_total{${base}} ${promNumber(c.finished)}`,
    '# HELP jetstream_request_success_count_created Number of requests successfully completed',
    '# TYPE jetstream_request_success_count_created gauge',
    `jetstream_request_success_count_created{${base}} ${promNumber(createdAt)}`,
  );
  histogram(out, 'jetstream_time_to_first_token', 'Time to first token per request in seconds', engine.ttft, base);
  histogram(out, 'jetstream_time_per_output_token', 'Average time per output token per request in seconds', engine.itl, base);
  histogram(out, 'jetstream_time_per_request', 'End to end request latency in seconds', engine.e2e, base);
  if (rejected.size > 0) {
    // The simulator's own count of refused requests, as on the vLLM-mode page.
    out.push(
      '# HELP switchboard_sim_rejected_requests_total Requests the simulated pod refused before its engine, by reason.',
      '# TYPE switchboard_sim_rejected_requests_total counter',
    );
    for (const [reason, n] of rejected) out.push(`switchboard_sim_rejected_requests_total{reason="${escapeLabel(reason)}"} ${promNumber(n)}`);
  }
  return out.join('\n') + '\n';
}

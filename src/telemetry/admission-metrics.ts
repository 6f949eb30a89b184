/**
 * Metrics of admission: flow control and model rewrites under the Go EPP's names and labels,
 * prompt guards and token budgets under Switchboard's. Registered on the process registry by
 * `Telemetry`; label values that come from clients (fairness ids, model names) are capped.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AdmissionRequest } from '../admission/admission.js';
import type { FlowControlObserver, QueueOutcome } from '../admission/flow-controller.js';
import type { GuardDecision, GuardObserver } from '../admission/guards/guard-chain.js';

const QUEUE_DURATION_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const CYCLE_BUCKETS = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1];
const GUARD_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Cached metric children per series map (client-chosen keys beyond it are looked up each time). */
const MAX_CACHED_SERIES = 10_000;
/** Distinct fairness ids reported as labels before the rest become `other`. */
const MAX_FLOW_LABELS = 200;


interface QueueSeries {
  size: Gauge.Internal<string>;
  bytes: Gauge.Internal<string>;
}

export class AdmissionMetrics implements FlowControlObserver, GuardObserver {
  private readonly rewrites: Counter<string>;
  private readonly queueDuration: Histogram<string>;
  private readonly queueSize: Gauge<string>;
  private readonly queueBytes: Gauge<string>;
  private readonly cycle: Histogram<string>;
  private readonly guardDecisions: Counter<string>;
  private readonly guardDuration: Histogram<string>;
  private readonly budgetRejections: Counter<string>;
  private readonly budgetCharged: Counter<string>;
  private readonly queueSeries = new Map<string, QueueSeries>();
  private readonly durationSeries = new Map<string, Histogram.Internal<string>>();
  private readonly flowLabels = new Set<string>();
  private saturationFn: (() => number) | null = null;

  constructor(
    registry: Registry,
    private readonly poolName: string,
    /** Caps client-chosen model names (shared with the per-request series). */
    private readonly modelLabel: (model: string) => string,
  ) {
    const r = [registry];
    this.rewrites = new Counter({
      name: 'inference_extension_model_rewrite_decisions_total',
      help: 'Total number of inference model rewrite decisions.',
      labelNames: ['model_rewrite_name', 'model_name', 'target_model'],
      registers: r,
    });
    const flowLabels = ['fairness_id', 'priority', 'inference_pool', 'model_name', 'target_model_name'];
    this.queueDuration = new Histogram({
      name: 'inference_extension_flow_control_request_queue_duration_seconds',
      help: 'Distribution of the total time requests spend in the flow control layer, from arrival until a final outcome is reached.',
      labelNames: ['fairness_id', 'priority', 'outcome', 'inference_pool', 'model_name', 'target_model_name'],
      buckets: QUEUE_DURATION_BUCKETS,
      registers: r,
    });
    this.queueSize = new Gauge({
      name: 'inference_extension_flow_control_queue_size',
      help: 'Current number of requests held in the flow control queue.',
      labelNames: flowLabels,
      registers: r,
    });
    this.queueBytes = new Gauge({
      name: 'inference_extension_flow_control_queue_bytes',
      help: 'Current total size in bytes of requests held in the flow control queue.',
      labelNames: flowLabels,
      registers: r,
    });
    this.cycle = new Histogram({
      name: 'inference_extension_flow_control_dispatch_cycle_duration_seconds',
      help: 'Distribution of time taken for each dispatch cycle in the flow control layer.',
      buckets: CYCLE_BUCKETS,
      registers: r,
    });
    const self = this;
    new Gauge({
      name: 'inference_extension_flow_control_pool_saturation',
      help: 'Current saturation level of the inference pool (0.0 = empty, 1.0 = saturated); computed at scrape time.',
      labelNames: ['inference_pool'],
      registers: r,
      collect() {
        if (self.saturationFn !== null) this.set({ inference_pool: self.poolName }, self.saturationFn());
      },
    });
    this.guardDecisions = new Counter({
      name: 'switchboard_prompt_guard_decisions_total',
      help: 'Prompt guard decisions by guard: allow, deny, or a screening failure that allowed or denied.',
      labelNames: ['guard', 'decision'],
      registers: r,
    });
    this.guardDuration = new Histogram({
      name: 'switchboard_prompt_guard_duration_seconds',
      help: 'Time a prompt guard took to decide.',
      labelNames: ['guard'],
      buckets: GUARD_BUCKETS,
      registers: r,
    });
    this.budgetRejections = new Counter({
      name: 'switchboard_token_budget_rejections_total',
      help: 'Requests rejected because their flow spent its token budget.',
      labelNames: ['fairness_id', 'direction'],
      registers: r,
    });
    this.budgetCharged = new Counter({
      name: 'switchboard_token_budget_charged_tokens_total',
      help: 'Tokens charged to budgeted flows, from response usage (input estimated from the prompt when the response had none).',
      labelNames: ['fairness_id', 'direction'],
      registers: r,
    });
  }

  /** Flow-control queues now, summed by priority band and flow (fairness id). Off the hot path: reads the gauges. */
  async queues(): Promise<Array<{ priority: number; flow: string; requests: number; bytes: number }>> {
    const byKey = new Map<string, { priority: number; flow: string; requests: number; bytes: number }>();
    const add = (values: Array<{ labels: Record<string, string | number | undefined>; value: number }>, field: 'requests' | 'bytes') => {
      for (const v of values) {
        const priority = Number(v.labels.priority);
        const flow = String(v.labels.fairness_id ?? '');
        const key = `${priority}\u0000${flow}`;
        let e = byKey.get(key);
        if (e === undefined) byKey.set(key, (e = { priority, flow, requests: 0, bytes: 0 }));
        e[field] += v.value;
      }
    };
    add((await this.queueSize.get()).values, 'requests');
    add((await this.queueBytes.get()).values, 'bytes');
    return [...byKey.values()].sort((a, b) => b.priority - a.priority || a.flow.localeCompare(b.flow));
  }

  /** Pool saturation now (0 empty, 1 saturated), or null when it is not tracked. */
  saturation(): number | null {
    return this.saturationFn?.() ?? null;
  }

  /** Reads pool saturation at scrape time. */
  setSaturation(fn: (() => number) | null): void {
    this.saturationFn = fn;
  }

  /** A rewrite rule chose `target` for `model`. */
  modelRewritten(rule: string, model: string, target: string): void {
    this.rewrites.inc({ model_rewrite_name: rule, model_name: this.modelLabel(model), target_model: this.modelLabel(target) });
  }

  queueChanged(req: AdmissionRequest, requests: number, bytes: number): void {
    const fairness = this.flowLabel(req.fairnessId);
    const incoming = this.modelLabel(req.incomingModel);
    const target = this.modelLabel(req.targetModel);
    const key = `${fairness}\u0000${req.priority}\u0000${incoming}\u0000${target}`;
    let s = this.queueSeries.get(key);
    if (s === undefined) {
      const l = [fairness, String(req.priority), this.poolName, incoming, target];
      s = { size: this.queueSize.labels(...l), bytes: this.queueBytes.labels(...l) };
      if (this.queueSeries.size < MAX_CACHED_SERIES) this.queueSeries.set(key, s);
    }
    s.size.inc(requests);
    s.bytes.inc(bytes);
  }

  left(req: AdmissionRequest, outcome: QueueOutcome, seconds: number): void {
    // Every flow-controlled request lands here: a cached child costs a Map lookup, not a label hash.
    const key = `${req.fairnessId}\u0000${req.priority}\u0000${outcome}\u0000${req.incomingModel}\u0000${req.targetModel}`;
    let child = this.durationSeries.get(key);
    if (child === undefined) {
      const l = [this.flowLabel(req.fairnessId), String(req.priority), outcome, this.poolName, this.modelLabel(req.incomingModel), this.modelLabel(req.targetModel)];
      child = this.queueDuration.labels(...l);
      // Capped labels fold many keys into one child; remember keys only while the label sets are bounded.
      if (this.durationSeries.size < MAX_CACHED_SERIES) this.durationSeries.set(key, child);
    }
    child.observe(seconds);
  }

  dispatchCycle(seconds: number): void {
    this.cycle.observe(seconds);
  }

  /** A prompt guard decided in `seconds`. */
  guard(name: string, decision: GuardDecision, seconds: number): void {
    this.guardDecisions.inc({ guard: name, decision });
    this.guardDuration.observe({ guard: name }, seconds);
  }

  /** A flow was refused for its `direction` (input/output) budget. */
  budgetRejected(fairnessId: string, direction: 'input' | 'output'): void {
    this.budgetRejections.inc({ fairness_id: this.flowLabel(fairnessId), direction });
  }

  /** Tokens charged to a budgeted flow. */
  budgetCharge(fairnessId: string, input: number, output: number): void {
    const f = this.flowLabel(fairnessId);
    if (input > 0) this.budgetCharged.inc({ fairness_id: f, direction: 'input' }, input);
    if (output > 0) this.budgetCharged.inc({ fairness_id: f, direction: 'output' }, output);
  }

  private flowLabel(id: string): string {
    if (this.flowLabels.has(id)) return id;
    if (this.flowLabels.size >= MAX_FLOW_LABELS) return 'other';
    this.flowLabels.add(id);
    return id;
  }
}

/**
 * Turns a model server's /metrics page into the metrics snapshot the scheduler reads, using the
 * endpoint's engine mapping. Queue, running and KV signals are required (unless the mapping
 * disables one); LoRA and cache-config signals are optional, as the model server protocol says.
 */
import { EMPTY_SET, type MetricsSnapshot } from '../pool/endpoint.js';
import type { SignalValues } from '../pool/signals.js';
import type { EngineMapping } from './engines.js';
import { selectLatest, selectMaxValue, type MetricSpec } from './metric-spec.js';
import { parsePrometheusText, type Sample } from './prom-text.js';

/** Longest served-model label kept (Hugging Face ids are at most 96 characters). */
const MAX_MODEL_NAME = 256;

/** Extraction result: a snapshot, or the reason there is none. */
export type Extraction = { ok: true; metrics: MetricsSnapshot } | { ok: false; error: string };

/** Parses `text` and extracts a snapshot with `engine`'s mapping. */
export function extractMetrics(text: string, engine: EngineMapping): Extraction {
  const page = parsePrometheusText(text, { names: engine.names });
  const s = page.samples;
  const waiting = required(engine.queued, s, 'queue');
  if (typeof waiting === 'string') return fail(waiting, page.firstError);
  const runningHit = requiredSample(engine.running, s, 'running requests');
  if (typeof runningHit === 'string') return fail(runningHit, page.firstError);
  const running = runningHit === null ? 0 : runningHit.value;
  // vLLM and SGLang label their metrics with the served base model; a request for any other name
  // is for an adapter. Bounded: labels are input.
  const servedLabel = runningHit?.labels.model_name;
  const servedModel = servedLabel !== undefined && servedLabel !== '' && servedLabel.length <= MAX_MODEL_NAME ? servedLabel : undefined;
  const kv = required(engine.kvUsage, s, 'KV-cache utilization');
  if (typeof kv === 'string') return fail(kv, page.firstError);
  if (!(waiting >= 0) || !Number.isFinite(waiting)) return fail(`queue size ${waiting} is not a count`, null);
  if (!(running >= 0) || !Number.isFinite(running)) return fail(`running requests ${running} is not a count`, null);
  if (!(kv >= 0) || !Number.isFinite(kv)) return fail(`KV-cache utilization ${kv} is not a fraction`, null);

  let activeAdapters: ReadonlySet<string> = EMPTY_SET;
  let waitingAdapters: ReadonlySet<string> = EMPTY_SET;
  let maxAdapters = 0;
  if (engine.lora !== null) {
    const lora = selectMaxValue(engine.lora, s);
    if (lora !== null) {
      activeAdapters = adapterSet(lora.labels.running_lora_adapters);
      waitingAdapters = adapterSet(lora.labels.waiting_lora_adapters);
      maxAdapters = nonNegativeInt(lora.labels.max_lora);
    }
  }

  let cacheBlockSize = 0;
  let cacheNumBlocks = 0;
  if (engine.cacheInfo !== null) {
    const info = selectLatest(engine.cacheInfo, s);
    if (info !== null) {
      cacheBlockSize = nonNegativeInt(info.labels[engine.cacheBlockSizeLabel]);
      cacheNumBlocks = nonNegativeInt(info.labels[engine.cacheNumBlocksLabel]);
    }
  }
  if (engine.cacheBlockSize !== null) cacheBlockSize = gaugeInt(engine.cacheBlockSize, s) ?? cacheBlockSize;
  if (engine.cacheNumBlocks !== null) cacheNumBlocks = gaugeInt(engine.cacheNumBlocks, s) ?? cacheNumBlocks;

  let signals: SignalValues | undefined;
  for (const sig of engine.signals) {
    for (const spec of sig.specs) {
      const hit = selectLatest(spec, s);
      if (hit === null || !Number.isFinite(hit.value) || hit.value < 0) continue;
      (signals ??= {})[sig.name] = hit.value;
      break;
    }
  }

  return {
    ok: true,
    metrics: {
      waitingQueueSize: waiting,
      runningRequests: running,
      // Engines report a fraction; tolerate float noise above 1.
      kvCacheUsage: kv > 1 ? 1 : kv,
      activeAdapters,
      waitingAdapters,
      maxAdapters,
      cacheBlockSize,
      cacheNumBlocks,
      ...(signals !== undefined ? { signals } : {}),
      ...(servedModel !== undefined ? { servedModel } : {}),
    },
  };
}

/** Value of the first spec in `specs` that matches; 0 when the signal is disabled (no specs). */
function required(specs: readonly MetricSpec[], samples: readonly Sample[], what: string): number | string {
  const hit = requiredSample(specs, samples, what);
  return hit === null ? 0 : typeof hit === 'string' ? hit : hit.value;
}

/** Sample of the first spec in `specs` that matches; null when the signal is disabled (no specs). */
function requiredSample(specs: readonly MetricSpec[], samples: readonly Sample[], what: string): Sample | null | string {
  if (specs.length === 0) return null;
  for (const spec of specs) {
    const hit = selectLatest(spec, samples);
    if (hit !== null) return hit;
  }
  return `${what} metric ${specs.map((x) => x.source).join(' / ')} not found`;
}

function fail(error: string, parseError: string | null): Extraction {
  return { ok: false, error: parseError === null ? error : `${error} (${parseError})` };
}

function adapterSet(label: string | undefined): ReadonlySet<string> {
  if (label === undefined || label === '') return EMPTY_SET;
  const out = new Set<string>();
  for (const part of label.split(',')) {
    const name = part.trim();
    if (name !== '') out.add(name);
  }
  return out.size === 0 ? EMPTY_SET : out;
}

/** Parses an integer label; "None", empty or garbage give 0 (vLLM reports "None" before init). */
function nonNegativeInt(v: string | undefined): number {
  if (v === undefined) return 0;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

function gaugeInt(spec: MetricSpec, samples: readonly Sample[]): number | null {
  const hit = selectLatest(spec, samples);
  if (hit === null || !Number.isFinite(hit.value) || hit.value < 0) return null;
  return Math.floor(hit.value);
}

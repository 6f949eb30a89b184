/**
 * Real-time load generation: a scenario's workload and arrivals sent over HTTP to any
 * OpenAI-compatible base URL (the Switchboard proxy, a simulated fleet, a real vLLM).
 * Bounded in time (arrival window, then a drain deadline) and in count.
 */
import { Agent, request } from 'undici';
import { sbError } from '../errors.js';
import { Rng } from '../util/random.js';
import { countTokens } from '../workload/tokenizer.js';
import { scenarioArrivals } from '../workload/trace-scenario.js';
import { sendStreamed } from './http-client.js';
import type { RequestRecord } from '../workload/metrics.js';
import type { Scenario } from '../workload/scenario.js';
import { WorkloadGenerator, newRecord, promptText, type SessionState, type WorkRequest } from '../workload/workload.js';

/** Options of a real-time run. */
export interface LoadOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080` (the `/v1/...` paths are appended). */
  baseUrl: string;
  /** Base model name; when absent, the first base model of `GET /v1/models`. */
  model?: string;
  /** Extra request headers (e.g. authorization). */
  headers?: Record<string, string>;
  /** Stop sending after this many requests (default: the scenario's maxRequests). */
  maxRequests?: number;
  /** Cap on the arrival window, s (default: the scenario's stages). */
  maxDurationS?: number;
  /** Seconds to wait for requests in flight after the last arrival (default: scenario drain). */
  drainS?: number;
  /** Most requests in flight at once; arrivals beyond it wait (default 256). */
  concurrency?: number;
  /** Header that names the serving endpoint, for per-pod imbalance (optional). */
  podHeader?: string;
  /** Called with each warning as soon as it is known (e.g. models the target does not serve). */
  onWarning?: (message: string) => void;
  /** Progress callback, fraction of the arrival window elapsed. */
  onProgress?: (fraction: number, inflight: number, done: number) => void;
}

/** Result of a real-time run. */
export interface LoadRun {
  records: RequestRecord[];
  model: string;
  /** Distinct endpoints seen in `podHeader`, in index order. */
  pods: string[];
  wallMs: number;
  /** Problems noticed before or during the run (also passed to `onWarning`). */
  warnings: string[];
}

/** What `GET /v1/models` lists: base models and adapters (entries with a `parent`). */
export interface ServedModels {
  bases: string[];
  adapters: string[];
}

/** Asks `GET /v1/models` once; throws a plain Error naming what went wrong. */
export async function fetchModels(baseUrl: string, headers: Record<string, string>, dispatcher: Agent): Promise<ServedModels> {
  const res = await request(`${baseUrl}/v1/models`, { headers, dispatcher, headersTimeout: 10_000, bodyTimeout: 10_000 });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`HTTP ${res.statusCode}`);
  }
  const j = (await res.body.json()) as { data?: unknown };
  if (!Array.isArray(j.data)) throw new Error('the answer has no "data" list');
  const out: ServedModels = { bases: [], adapters: [] };
  for (const m of j.data as Array<{ id?: unknown; parent?: unknown } | null>) {
    if (typeof m?.id !== 'string') continue;
    if (m.parent === null || m.parent === undefined) out.bases.push(m.id);
    else out.adapters.push(m.id);
  }
  return out;
}

/**
 * Names the scenario's models the target does not list: the base model and every LoRA adapter
 * of `workload.lora` (vLLM lists adapters by name in /v1/models). One line, or null if all served.
 */
export function missingModelsWarning(scenario: Scenario, model: string, served: ServedModels): string | null {
  const all = new Set([...served.bases, ...served.adapters]);
  const missing: string[] = [];
  if (!all.has(model)) missing.push(`model ${JSON.stringify(model)}`);
  const adapters = (scenario.workload.lora?.adapters ?? []).filter((a) => !all.has(a));
  if (adapters.length > 0) {
    const shown = adapters.slice(0, 10).map((a) => JSON.stringify(a)).join(', ');
    missing.push(`${adapters.length === 1 ? 'adapter' : `${adapters.length} adapters`} ${shown}${adapters.length > 10 ? ', …' : ''}`);
  }
  if (missing.length === 0) return null;
  const listed = [...served.bases, ...served.adapters];
  const shownListed = listed.length === 0 ? 'nothing' : listed.slice(0, 10).join(', ') + (listed.length > 10 ? ', …' : '');
  return `the target does not serve the scenario's ${missing.join(' and ')} (its /v1/models lists: ${shownListed}); requests for them will fail`;
}

/** Runs `scenario` against `opts.baseUrl` in real time. */
export async function runLoadScenario(scenario: Scenario, opts: LoadOptions): Promise<LoadRun> {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const headers = opts.headers ?? {};
  const concurrency = opts.concurrency ?? 256;
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
  const t0 = performance.now();
  try {
    const warnings: string[] = [];
    const warn = (m: string): void => {
      warnings.push(m);
      opts.onWarning?.(m);
    };
    // One look at /v1/models: the default model, and what the scenario asks for that is not served.
    let served: ServedModels | null = null;
    let modelsError = '';
    try {
      served = await fetchModels(baseUrl, headers, agent);
    } catch (e) {
      modelsError = (e as Error).message;
    }
    let model = opts.model;
    if (model === undefined) {
      if (served === null || served.bases.length === 0) {
        const why = served === null ? modelsError : 'no base model listed';
        throw sbError('SB_ERR_CONFIG', 'model', `could not discover the model at ${baseUrl}/v1/models (${why}); pass --model`);
      }
      model = served.bases[0];
    }
    if (served === null) warn(`could not read ${baseUrl}/v1/models (${modelsError}); the scenario's models and adapters were not checked`);
    else {
      const w = missingModelsWarning(scenario, model, served);
      if (w !== null) warn(w);
    }
    const gen = new WorkloadGenerator(scenario, model);
    const maxRequests = Math.min(opts.maxRequests ?? scenario.maxRequests, scenario.maxRequests);
    const stageEnds: number[] = [];
    let acc = 0;
    for (const st of scenario.arrivals.stages) stageEnds.push((acc += st.duration * 1000));
    const windowMs = Math.min(acc, (opts.maxDurationS ?? Infinity) * 1000);
    const arrivals = scenarioArrivals(scenario, maxRequests).filter((a) => a.at < windowMs);
    const drainMs = (opts.drainS ?? scenario.drainS) * 1000;
    const stop = new AbortController();
    // One listener on the run's signal, whatever the number of requests: it aborts the requests
    // in flight (each has its own controller, whose listener undici removes when it ends) and
    // cancels the follow-up turns still waiting. A listener per request would pile up on the
    // shared signal (MaxListenersExceededWarning) and outlive finished requests.
    const inflightAborts = new Set<AbortController>();
    const sleeping = new Map<NodeJS.Timeout, () => void>();
    stop.signal.addEventListener(
      'abort',
      () => {
        for (const c of inflightAborts) c.abort();
        for (const [timer, resolve] of sleeping) {
          clearTimeout(timer);
          resolve();
        }
        sleeping.clear();
      },
      { once: true },
    );
    const records: RequestRecord[] = [];
    const podNames: string[] = [];
    const podIndex = (v: string): number => {
      let i = podNames.indexOf(v);
      if (i < 0) i = podNames.push(v) - 1;
      return i;
    };
    const stageAt = (t: number): number => {
      const i = stageEnds.findIndex((e) => t < e);
      return i < 0 ? stageEnds.length - 1 : i;
    };
    let inflight = 0;
    let issued = 0;
    let finished = 0;
    const waiters: Array<() => void> = [];
    const slot = async (): Promise<void> => {
      while (inflight >= concurrency) await new Promise<void>((r) => waiters.push(r));
      inflight++;
    };
    const release = (): void => {
      inflight--;
      waiters.shift()?.();
    };
    const tasks = new Set<Promise<void>>();
    const track = (p: Promise<void>): void => {
      tasks.add(p);
      void p.finally(() => tasks.delete(p));
    };
    const start = performance.now();

    const send = async (work: WorkRequest, session: SessionState | null): Promise<void> => {
      if (issued >= maxRequests || stop.signal.aborted) return;
      issued++;
      await slot();
      if (work.stage < 0) work.stage = stageAt(performance.now() - start);
      const record = newRecord(work, 0, countTokens(promptText(work)));
      records.push(record);
      const abort = new AbortController();
      inflightAborts.add(abort);
      if (stop.signal.aborted) abort.abort();
      const sent = await sendStreamed({
        url: baseUrl + WorkloadGenerator.path(work),
        body: gen.body(work),
        headers: work.headers === null ? headers : { ...headers, ...work.headers },
        dispatcher: agent,
        signal: abort.signal,
        record,
        podHeader: opts.podHeader?.toLowerCase() ?? null,
        podIndex,
      });
      inflightAborts.delete(abort);
      finished++;
      release();
      if (session !== null && sent.record.ok) {
        const nxt = gen.next(session, sent.answer);
        const at = performance.now() - start + (nxt?.delayMs ?? 0);
        if (nxt !== null && at < windowMs) {
          track(
            new Promise<void>((resolve) => {
              const timer = setTimeout(() => {
                sleeping.delete(timer);
                resolve(send(nxt.request, session));
              }, nxt.delayMs);
              sleeping.set(timer, resolve);
            }),
          );
        }
      }
    };

    const progress = opts.onProgress;
    const ticker =
      progress === undefined
        ? null
        : setInterval(() => progress(Math.min(1, (performance.now() - start) / windowMs), inflight, finished), 200);
    try {
      for (const a of arrivals) {
        const wait = a.at - (performance.now() - start);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (issued >= maxRequests) break;
        const { request: work, session } = gen.first(a);
        track(send(work, session));
      }
      const remaining = windowMs - (performance.now() - start);
      if (remaining > 0 && gen.multiTurn) await new Promise((r) => setTimeout(r, remaining));
      const deadline = setTimeout(() => stop.abort(), drainMs);
      while (tasks.size > 0) await Promise.all([...tasks]);
      clearTimeout(deadline);
    } finally {
      if (ticker !== null) clearInterval(ticker);
      stop.abort();
    }
    progress?.(1, 0, finished);
    // Times relative to the run start, like the virtual-time scorecard.
    for (const r of records) {
      r.start -= start;
      r.firstToken -= start;
      r.lastToken -= start;
      r.end -= start;
    }
    return { records, model, pods: podNames, wallMs: performance.now() - t0, warnings };
  } finally {
    await agent.close();
  }
}

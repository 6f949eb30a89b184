/**
 * Real-time load generation: a scenario's workload and arrivals sent over HTTP to any
 * OpenAI-compatible base URL (the Switchboard proxy, a simulated fleet, a real vLLM).
 * Bounded in time (arrival window, then a drain deadline) and in count.
 */
import { Agent, request } from 'undici';
import { sbError } from '../errors.js';
import { Rng } from '../sim/engine/random.js';
import { countTokens } from '../sim/engine/tokenizer.js';
import { planArrivals } from './arrivals.js';
import { sendStreamed } from './http-client.js';
import type { RequestRecord } from './metrics.js';
import type { Scenario } from './scenario.js';
import { WorkloadGenerator, newRecord, promptText, type SessionState, type WorkRequest } from './workload.js';

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
}

/** Asks `GET /v1/models` for the served base model. */
export async function discoverModel(baseUrl: string, headers: Record<string, string>, dispatcher: Agent): Promise<string> {
  try {
    const res = await request(`${baseUrl}/v1/models`, { headers, dispatcher });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`HTTP ${res.statusCode}`);
    }
    const j = (await res.body.json()) as { data?: Array<{ id?: unknown; parent?: unknown }> };
    const base = j.data?.find((m) => typeof m.id === 'string' && (m.parent === null || m.parent === undefined));
    if (base === undefined) throw new Error('no base model listed');
    return base.id as string;
  } catch (e) {
    throw sbError('SB_ERR_CONFIG', 'model', `could not discover the model at ${baseUrl}/v1/models (${(e as Error).message}); pass --model`);
  }
}

/** Runs `scenario` against `opts.baseUrl` in real time. */
export async function runLoadScenario(scenario: Scenario, opts: LoadOptions): Promise<LoadRun> {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const headers = opts.headers ?? {};
  const concurrency = opts.concurrency ?? 256;
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0 });
  const t0 = performance.now();
  try {
    const model = opts.model ?? (await discoverModel(baseUrl, headers, agent));
    const gen = new WorkloadGenerator(scenario, model);
    const maxRequests = Math.min(opts.maxRequests ?? scenario.maxRequests, scenario.maxRequests);
    const stageEnds: number[] = [];
    let acc = 0;
    for (const st of scenario.arrivals.stages) stageEnds.push((acc += st.duration * 1000));
    const windowMs = Math.min(acc, (opts.maxDurationS ?? Infinity) * 1000);
    const arrivals = planArrivals(scenario.arrivals, new Rng(scenario.seed).fork('arrivals'), maxRequests).filter((a) => a.at < windowMs);
    const drainMs = (opts.drainS ?? scenario.drainS) * 1000;
    const stop = new AbortController();
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
      const sent = await sendStreamed({
        url: baseUrl + WorkloadGenerator.path(work),
        body: gen.body(work),
        headers: work.headers === null ? headers : { ...headers, ...work.headers },
        dispatcher: agent,
        signal: stop.signal,
        record,
        podHeader: opts.podHeader?.toLowerCase() ?? null,
        podIndex,
      });
      finished++;
      release();
      if (session !== null && sent.record.ok) {
        const nxt = gen.next(session, sent.answer);
        const at = performance.now() - start + (nxt?.delayMs ?? 0);
        if (nxt !== null && at < windowMs) {
          track(
            new Promise<void>((resolve) => {
              const timer = setTimeout(() => resolve(send(nxt.request, session)), nxt.delayMs);
              stop.signal.addEventListener('abort', () => {
                clearTimeout(timer);
                resolve();
              });
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
    return { records, model, pods: podNames, wallMs: performance.now() - t0 };
  } finally {
    await agent.close();
  }
}

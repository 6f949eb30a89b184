/**
 * Per-request pick traces of a scorecard run (`switchboard bench --trace-picks`): where each
 * request went, what it cost there, and, for policies that run the Switchboard director, which
 * term moved it. A loss in the scorecard names a scenario file; its trace names the requests and
 * picks behind it. Built only when asked for: the explanation is work the scheduler skips otherwise.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Explanation } from '../../scheduling/framework/explain.js';
import type { RequestRecord } from '../../workload/metrics.js';
import type { Scenario } from '../../workload/scenario.js';
import type { WorkRequest } from '../../workload/workload.js';

/** Which term moved a director pick, with the picked endpoint's view (pods by index). */
export interface PickTrace {
  /** Scorer with the largest positive margin over the runner-up; null on a tie or one candidate. */
  term: string | null;
  /** Pod with the next-best total (the best total when `belowBest`), or null. */
  runnerUp: number | null;
  /** Per scorer, weight x (picked score - runner-up score), 3 decimals. */
  margins: Record<string, number>;
  /** Filters that removed endpoints, with how many. */
  filtered: Record<string, number>;
  /** The filter whose spill let the picked pod in, or null. */
  spilledBy: string | null;
  /** The filter that kept the picked pod only through its adapter allowance, or null. */
  allowedBy: string | null;
  /** A near tie (or a random draw) took a pod below the best total. */
  belowBest: boolean;
  /** Why the stale-metrics fallback picked instead of the profile, or null. */
  fallback: string | null;
  /** Endpoints left after the filters. */
  candidates: number;
  /** The picked pod's raw scores, 3 decimals. */
  scores: Record<string, number>;
  /** What the scheduler saw of the picked pod. */
  seen: { waiting: number; running: number; kvUsage: number; inflight: number; pendingPrefill: number; tpotMs: number; ttftMs: number };
}

/** One request of a traced run (one JSON line). Times in ms of virtual time. */
export interface PickTraceLine {
  id: string;
  stage: string;
  start: number;
  /** Pod index, or -1 when the request was rejected before reaching one. */
  pod: number;
  model: string;
  /** Shared-prefix group, session and turn (-1: none). */
  group: number;
  session: number;
  turn: number;
  prompt: number;
  /** Prompt tokens the pod had cached (-1: unknown). */
  cached: number;
  output: number;
  /** Null when no first token arrived. */
  ttft: number | null;
  e2e: number;
  ok: boolean;
  error: string | null;
  /** Time the pod spent loading the request's adapter into a GPU slot (0: resident; the scenario's CPU or disk load time otherwise). */
  adapterLoadMs: number;
  /** Present for director policies. */
  pick?: PickTrace;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

function rounded(o: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(o)) out[k] = round3(o[k]);
  return out;
}

/** The compact trace of a director decision; `podOf` maps endpoint keys to pod indices. */
export function pickTrace(x: Explanation, podOf: ReadonlyMap<string, number>): PickTrace {
  const picked = x.picked[0];
  const e = x.endpoints.find((c) => c.endpoint === picked);
  const d = x.decisive;
  const m = e?.metrics;
  return {
    term: d?.term ?? null,
    runnerUp: d === null || d.runnerUp === null ? null : (podOf.get(d.runnerUp) ?? null),
    margins: d === null ? {} : rounded(d.margins),
    filtered: d?.filtered ?? {},
    spilledBy: d?.spilledBy ?? null,
    allowedBy: d?.allowedBy ?? null,
    belowBest: d?.pickedBelowBest ?? false,
    fallback: x.fallback,
    candidates: x.endpoints.reduce((n, c) => n + (c.filteredBy === null ? 1 : 0), 0),
    scores: e === undefined ? {} : rounded(e.scores),
    seen: {
      waiting: m?.waiting ?? 0,
      running: m?.running ?? 0,
      kvUsage: round3(m?.kvUsage ?? 0),
      inflight: m?.inflight ?? 0,
      pendingPrefill: m?.pendingPrefill ?? 0,
      tpotMs: round3(m?.tpotMs ?? 0),
      ttftMs: round3(m?.ttftMs ?? 0),
    },
  };
}

/** The trace line of a finished request. */
export function pickTraceLine(r: RequestRecord, work: WorkRequest, stage: string, adapterLoadMs: number, pick: PickTrace | null): PickTraceLine {
  const line: PickTraceLine = {
    id: r.id,
    stage,
    start: round3(r.start),
    pod: r.pod,
    model: work.model,
    group: work.group,
    session: r.session,
    turn: r.turn,
    prompt: r.promptTokens,
    cached: r.cachedTokens,
    output: r.outputTokens,
    ttft: Number.isNaN(r.firstToken) ? null : round3(r.firstToken - r.start),
    e2e: round3(r.end - r.start),
    ok: r.ok,
    error: r.error,
    adapterLoadMs,
  };
  if (pick !== null) line.pick = pick;
  return line;
}

/** File of one run's pick trace: `<dir>/<scenario>/<policy>.seed-<seed>.jsonl` (names made file-safe). */
export function pickTraceFile(dir: string, scenario: string, policy: string, seed: number): string {
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9._×-]+/g, '_');
  return join(dir, safe(scenario), `${safe(policy)}.seed-${seed}.jsonl`);
}

/** Writes `lines` as JSON lines to `file`, creating its folder. */
export function writePickTrace(file: string, lines: readonly PickTraceLine[]): void {
  mkdirSync(join(file, '..'), { recursive: true });
  let text = '';
  for (const l of lines) text += JSON.stringify(l) + '\n';
  writeFileSync(file, text);
}

/** What the worst first tokens of traced runs had in common at their picks. */
export interface TailCensus {
  /** Runs counted. */
  runs: number;
  /** Requests in the tail (the worst `share` of each run's first tokens). */
  requests: number;
  /** Under half of the prompt was cached on the pod. */
  uncached: number;
  /** The picker had prompt tokens of its own still awaiting a first token on the picked pod (director policies). */
  pendingPrefill: number;
  /** A filter had removed endpoints (director policies). */
  filtered: number;
  /** A near tie took a pod below the best total (director policies). */
  belowBest: number;
  /** The pod loaded the request's adapter first. */
  adapterLoads: number;
  /** Deciding term per pick ('none' on tied totals or a single candidate); director policies only. */
  terms: Record<string, number>;
}

/** An empty census. */
export function emptyCensus(): TailCensus {
  return { runs: 0, requests: 0, uncached: 0, pendingPrefill: 0, filtered: 0, belowBest: 0, adapterLoads: 0, terms: {} };
}

/**
 * Adds one run's tail to `into`: its successful requests of the stages `measured` accepts, the
 * worst `share` of them by TTFT (at least one).
 */
export function addTail(into: TailCensus, lines: readonly PickTraceLine[], measured: (stage: string) => boolean, share = 0.01): TailCensus {
  const ok = lines.filter((l) => l.ok && l.ttft !== null && measured(l.stage));
  if (ok.length === 0) return into;
  ok.sort((a, b) => (b.ttft as number) - (a.ttft as number));
  into.runs++;
  for (const l of ok.slice(0, Math.max(1, Math.ceil(share * ok.length)))) {
    into.requests++;
    if (l.cached < l.prompt / 2) into.uncached++;
    if (l.adapterLoadMs > 0) into.adapterLoads++;
    const p = l.pick;
    if (p === undefined) continue;
    if (p.seen.pendingPrefill > 0) into.pendingPrefill++;
    if (Object.keys(p.filtered).length > 0) into.filtered++;
    if (p.belowBest) into.belowBest++;
    const term = p.term ?? 'none';
    into.terms[term] = (into.terms[term] ?? 0) + 1;
  }
  return into;
}

/** One line per policy: what its TTFT tail had in common. */
export function renderTail(policy: string, c: TailCensus): string {
  const pct = (n: number): string => `${Math.round((100 * n) / Math.max(1, c.requests))}%`;
  const parts = [`${c.requests} requests over ${c.runs} run(s)`, `${pct(c.uncached)} mostly uncached`, `${pct(c.adapterLoads)} adapter loads`];
  // Most first; equal counts by name, so the line does not depend on the order runs finished in.
  const terms = Object.entries(c.terms).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (terms.length > 0) {
    parts.push(`${pct(c.pendingPrefill)} behind own pending prefill`, `${pct(c.filtered)} after a filter dropped pods`, `${pct(c.belowBest)} near ties`);
    parts.push(`moved by ${terms.map(([t, n]) => `${t} ${n}`).join(', ')}`);
  }
  return `  ${policy}: ${parts.join(', ')}`;
}

/** Adds census `c` to `into`. */
export function mergeCensus(into: TailCensus, c: TailCensus): TailCensus {
  into.runs += c.runs;
  into.requests += c.requests;
  into.uncached += c.uncached;
  into.pendingPrefill += c.pendingPrefill;
  into.filtered += c.filtered;
  into.belowBest += c.belowBest;
  into.adapterLoads += c.adapterLoads;
  for (const [t, n] of Object.entries(c.terms)) into.terms[t] = (into.terms[t] ?? 0) + n;
  return into;
}

/**
 * Writes one run's pick trace under `dir` and returns its tail census (the scenario's measured
 * stages): what every traced bench path does with a run's lines.
 */
export function keepRun(dir: string, scenario: Scenario, policy: string, seed: number, lines: readonly PickTraceLine[]): TailCensus {
  writePickTrace(pickTraceFile(dir, scenario.name, policy, seed), lines);
  const measured = new Set(scenario.arrivals.stages.filter((st) => !st.warmup).map((st) => st.name));
  return addTail(emptyCensus(), lines, (st) => measured.has(st));
}

/** Adds run census `c` to `policy`'s in `tails`. */
export function tallyTail(tails: Map<string, TailCensus>, policy: string, c: TailCensus): void {
  tails.set(policy, mergeCensus(tails.get(policy) ?? emptyCensus(), c));
}

/** The printed census: a heading and one line per policy. */
export function renderTails(tails: ReadonlyMap<string, TailCensus>): string {
  return `TTFT tail (worst 1% of each run's first tokens), at the pick:\n${[...tails].map(([p, c]) => renderTail(p, c)).join('\n')}\n`;
}

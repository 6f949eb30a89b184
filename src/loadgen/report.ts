/**
 * Report data: per-stage and overall summaries of each run (policy × seed), and per-policy
 * aggregates across seeds (median and spread of the headline numbers). Written as
 * `report.json`; the table and the HTML page render from it.
 */
import { summarize, type RequestRecord, type Slo, type StageSummary } from '../workload/metrics.js';
import { fleetLabel, type Scenario } from '../workload/scenario.js';
import { judgePolicies, type Judgement } from './judgement.js';

/** Engine-side counters of a stage (simulated fleets only). */
export interface EngineCounterSummary {
  preemptions: number;
  loraLoads: number;
  prefixQueries: number;
  prefixHits: number;
}

export interface StageReport {
  index: number;
  name: string;
  /** Arrival rate, per second. */
  rate: number;
  durationS: number;
  warmup: boolean;
  summary: StageSummary;
  /** Null when the server side is not observable (real endpoints). */
  engine: EngineCounterSummary | null;
}

export interface RunReport {
  policy: string;
  seed: number;
  stages: StageReport[];
  /** All non-warm-up requests together. */
  overall: StageSummary;
  engine: EngineCounterSummary | null;
  /** Wall-clock time the run took, ms. */
  wallMs: number;
  /** Every failed request (warm-up included) by error label, most frequent first. */
  failures: FailureGroup[];
  /** Measured requests broken down by LoRA adapter, session turn and tenant (empty when not used). */
  breakdowns: { byAdapter: Breakdown[]; byTurn: Breakdown[]; byTenant: Breakdown[] };
}

/** TTFT and prefix hits of one slice of the measured requests (an adapter, a turn index). */
export interface Breakdown {
  key: string;
  requests: number;
  successRate: number;
  ttftP50: number;
  ttftP90: number;
  prefixHitRate: number | null;
  /** Output tokens of the successful requests. */
  outputTokens: number;
  /** Failed requests by error label (`reject_429`, `reject_503`, ...). */
  errors: Record<string, number>;
}

/** Failed requests that share an error label (`http_404`, `connection`, ...). */
export interface FailureGroup {
  error: string;
  count: number;
  /** What the first of them was told (server message or socket error), or null if nothing. */
  firstMessage: string | null;
}

/** Median and spread of one headline number across seeds. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

/** Headline numbers of a run, in the units the report uses (ms, tokens/s, %). */
export const HEADLINES = {
  ttftP50: 'TTFT p50 (ms)',
  ttftP90: 'TTFT p90 (ms)',
  ttftP99: 'TTFT p99 (ms)',
  tpotP50: 'TPOT p50 (ms)',
  tpotP90: 'TPOT p90 (ms)',
  ntpotP90: 'NTPOT p90 (ms)',
  itlP99: 'ITL p99 (ms)',
  e2eP90: 'E2E p90 (ms)',
  outputTps: 'output tok/s',
  totalTps: 'total tok/s',
  rps: 'req/s',
  successPct: 'success %',
  goodputPct: 'goodput %',
  hitPct: 'prefix hit %',
  preemptions: 'preemptions',
  loraLoads: 'LoRA loads',
  podCv: 'pod load CV',
} as const;
export type Headline = keyof typeof HEADLINES;

export interface PolicyAggregate {
  policy: string;
  seeds: number[];
  headlines: Record<Headline, Spread>;
  /** Whether any run sent a request in each stage (false: the stage never ran). */
  stageRan: boolean[];
  /** TTFT p90 per stage (median over seeds), for charts. */
  stageTtftP90: number[];
  stageOutputTps: number[];
  /** Every headline number per stage, median over seeds (NaN where no run measured it). */
  stageMedians: Array<Record<Headline, number>>;
}

export interface Report {
  kind: 'bench' | 'load';
  scenario: { name: string; description: string; pods: number | null; profile: string | null; stages: Array<{ name: string; rate: number; durationS: number; warmup: boolean }> };
  slo: Slo;
  target: string | null;
  generatedAt: string;
  runs: RunReport[];
  aggregates: PolicyAggregate[];
  /** Problems found before or during the runs (e.g. models the target does not serve). */
  warnings: string[];
  /** Wins, ties and losses against the reference policies; null when no reference policy ran. */
  judgement: Judgement | null;
}

/** Summarises one run's records per stage and overall. */
export function buildRunReport(
  scenario: Scenario,
  policy: string,
  seed: number,
  records: readonly RequestRecord[],
  stageEngine: readonly EngineCounterSummary[] | null,
  pods: number,
  wallMs: number,
): RunReport {
  const byStage: RequestRecord[][] = scenario.arrivals.stages.map(() => []);
  for (const r of records) if (r.stage >= 0 && r.stage < byStage.length) byStage[r.stage].push(r);
  const stages = scenario.arrivals.stages.map((st, i) => ({
    index: i,
    name: st.name,
    rate: st.rate,
    durationS: st.duration,
    warmup: st.warmup,
    summary: summarize(byStage[i], scenario.slo, pods),
    engine: stageEngine === null ? null : pick(stageEngine[i]),
  }));
  const measured = records.filter((r) => r.stage >= 0 && !scenario.arrivals.stages[r.stage]?.warmup);
  let engine: EngineCounterSummary | null = null;
  if (stageEngine !== null) {
    engine = { preemptions: 0, loraLoads: 0, prefixQueries: 0, prefixHits: 0 };
    stages.forEach((s) => {
      if (s.warmup || s.engine === null || engine === null) return;
      engine.preemptions += s.engine.preemptions;
      engine.loraLoads += s.engine.loraLoads;
      engine.prefixQueries += s.engine.prefixQueries;
      engine.prefixHits += s.engine.prefixHits;
    });
  }
  const breakdowns = {
    byAdapter: breakdown(measured, (r) => r.lora),
    byTurn: breakdown(measured, (r) => (r.turn >= 0 ? `turn ${r.turn + 1}` : null)),
    byTenant: breakdown(measured, (r) => r.tenant),
  };
  return { policy, seed, stages, overall: summarize(measured, scenario.slo, pods), engine, wallMs, failures: failureGroups(records), breakdowns };
}

/** Failed `records` grouped by error label, each with the first message seen. */
export function failureGroups(records: readonly RequestRecord[]): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const r of records) {
    if (r.ok) continue;
    const error = r.error ?? 'error';
    let g = groups.get(error);
    if (g === undefined) groups.set(error, (g = { error, count: 0, firstMessage: null }));
    g.count++;
    if (g.firstMessage === null && r.detail !== undefined) g.firstMessage = r.detail;
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || (a.error < b.error ? -1 : 1));
}

/** Groups `records` by `keyOf` (null = not part of any group), most requests first. */
function breakdown(records: readonly RequestRecord[], keyOf: (r: RequestRecord) => string | null): Breakdown[] {
  const groups = new Map<string, RequestRecord[]>();
  for (const r of records) {
    const k = keyOf(r);
    if (k === null) continue;
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [r]);
    else g.push(r);
  }
  return [...groups]
    .map(([key, rs]) => {
      const s = summarize(rs);
      const errors: Record<string, number> = {};
      let outputTokens = 0;
      for (const r of rs) {
        if (r.ok) outputTokens += r.outputTokens;
        else if (r.error !== null) errors[r.error] = (errors[r.error] ?? 0) + 1;
      }
      return {
        key,
        requests: s.requests,
        successRate: s.successRate,
        ttftP50: s.ttft?.p50 ?? NaN,
        ttftP90: s.ttft?.p90 ?? NaN,
        prefixHitRate: s.prefixHitRate,
        outputTokens,
        errors,
      };
    })
    .sort((a, b) => b.requests - a.requests || (a.key < b.key ? -1 : 1));
}

function pick(c: EngineCounterSummary): EngineCounterSummary {
  return { preemptions: c.preemptions, loraLoads: c.loraLoads, prefixQueries: c.prefixQueries, prefixHits: c.prefixHits };
}

/** The headline numbers of a run. NaN where a metric is undefined. */
export function headlines(r: RunReport): Record<Headline, number> {
  return summaryHeadlines(r.overall, r.engine);
}

/** The headline numbers of one stage of a run. */
export function stageHeadlines(s: StageReport): Record<Headline, number> {
  return summaryHeadlines(s.summary, s.engine);
}

function summaryHeadlines(o: StageSummary, engine: EngineCounterSummary | null): Record<Headline, number> {
  const n = (v: number | undefined | null): number => (v === undefined || v === null ? NaN : v);
  const ran = o.requests > 0;
  return {
    ttftP50: n(o.ttft?.p50),
    ttftP90: n(o.ttft?.p90),
    ttftP99: n(o.ttft?.p99),
    tpotP50: n(o.tpot?.p50),
    tpotP90: n(o.tpot?.p90),
    ntpotP90: n(o.ntpot?.p90),
    itlP99: n(o.itl?.p99),
    e2eP90: n(o.e2e?.p90),
    outputTps: o.outputTokensPerS,
    totalTps: o.totalTokensPerS,
    rps: o.requestsPerS,
    // A stage nothing was sent in has no success rate (not 0%).
    successPct: ran ? 100 * o.successRate : NaN,
    goodputPct: n(o.goodput?.percent),
    hitPct: o.prefixHitRate === null ? NaN : 100 * o.prefixHitRate,
    preemptions: n(engine?.preemptions),
    loraLoads: n(engine?.loraLoads),
    podCv: n(o.imbalance?.cvPromptTokens),
  };
}

/** Median (and min/max) of `values`, ignoring NaN. */
export function spread(values: number[]): Spread {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN, values };
  const mid = v.length >> 1;
  const median = v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], values };
}

/** Groups runs by policy (in first-seen order) and aggregates them across seeds. */
export function aggregate(runs: readonly RunReport[]): PolicyAggregate[] {
  const byPolicy = new Map<string, RunReport[]>();
  for (const r of runs) {
    const list = byPolicy.get(r.policy) ?? [];
    list.push(r);
    byPolicy.set(r.policy, list);
  }
  const out: PolicyAggregate[] = [];
  for (const [policy, list] of byPolicy) {
    const hs = list.map(headlines);
    const h = {} as Record<Headline, Spread>;
    for (const k of Object.keys(HEADLINES) as Headline[]) h[k] = spread(hs.map((x) => x[k]));
    const nStages = list[0].stages.length;
    const stageRan: boolean[] = [];
    const stageTtftP90: number[] = [];
    const stageOutputTps: number[] = [];
    const stageMedians: Array<Record<Headline, number>> = [];
    for (let i = 0; i < nStages; i++) {
      // A stage no run sent anything in has no throughput (NaN), not a measured zero.
      const ran = list.some((r) => r.stages[i].summary.requests > 0);
      stageRan.push(ran);
      stageTtftP90.push(spread(list.map((r) => r.stages[i].summary.ttft?.p90 ?? NaN)).median);
      stageOutputTps.push(ran ? spread(list.filter((r) => r.stages[i].summary.requests > 0).map((r) => r.stages[i].summary.outputTokensPerS)).median : NaN);
      const sh = list.filter((r) => r.stages[i].summary.requests > 0).map((r) => stageHeadlines(r.stages[i]));
      const m = {} as Record<Headline, number>;
      for (const k of Object.keys(HEADLINES) as Headline[]) m[k] = spread(sh.map((x) => x[k])).median;
      stageMedians.push(m);
    }
    out.push({ policy, seeds: list.map((r) => r.seed), headlines: h, stageRan, stageTtftP90, stageOutputTps, stageMedians });
  }
  return out;
}

/** Assembles the whole report. */
export function buildReport(
  kind: Report['kind'],
  scenario: Scenario,
  runs: RunReport[],
  target: string | null,
  simulated: boolean,
  warnings: readonly string[] = [],
): Report {
  const aggregates = aggregate(runs);
  return {
    kind,
    scenario: {
      name: scenario.name,
      description: scenario.description,
      pods: simulated ? scenario.fleet.pods : null,
      profile: simulated ? fleetProfiles(scenario) : null,
      stages: scenario.arrivals.stages.map((s) => ({ name: s.name, rate: s.rate, durationS: s.duration, warmup: s.warmup })),
    },
    slo: scenario.slo,
    target,
    generatedAt: new Date().toISOString(),
    runs,
    aggregates,
    warnings: [...warnings],
    judgement: judgeReport(scenario, aggregates),
  };
}

/**
 * Judges every policy against the reference policies: the overall numbers, and each measured
 * stage when there is more than one (a single measured stage is the overall).
 */
export function judgeReport(scenario: Scenario, aggregates: readonly PolicyAggregate[]): Judgement | null {
  const stages = scenario.arrivals.stages;
  const measured = stages.map((s, i) => i).filter((i) => !stages[i].warmup && aggregates.some((a) => a.stageRan[i]));
  const scopes = [{ name: 'overall', stage: -1 }, ...(measured.length > 1 ? measured.map((i) => ({ name: stages[i].name, stage: i })) : [])];
  return judgePolicies(
    aggregates.map((a) => ({
      policy: a.policy,
      scopes: scopes.map((sc) => (sc.stage < 0 ? medians(a.headlines) : a.stageMedians[sc.stage])),
    })),
    scopes,
  );
}

function medians(h: Record<Headline, Spread>): Record<Headline, number> {
  const m = {} as Record<Headline, number>;
  for (const k of Object.keys(h) as Headline[]) m[k] = h[k].median;
  return m;
}

/** The profile name, or every group of a mixed fleet with its pod count. */
function fleetProfiles(s: Scenario): string {
  return s.fleet.podProfiles.every((p) => p === s.fleet.profile) ? s.fleet.profile.name : fleetLabel(s.fleet);
}

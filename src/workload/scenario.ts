/**
 * Scenario files: the fleet, the workload, the arrival stages, SLOs and policies of one run.
 * The schema is documented in `bench/scenarios/README.md`; every field is checked here and a
 * bad one stops the run with SB_ERR_CONFIG naming its path.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { sbError } from '../errors.js';
import { resolveProfile, type EngineProfile } from './engine-profile.js';
import type { Rng } from '../util/random.js';
import { compileCount, compileDist, weightedPicker, zipfWeights, type Sampler } from './distributions.js';
import type { Slo } from './metrics.js';
import type { ScenarioTrace } from './trace.js';

/** The simulated fleet (ignored by `switchboard load`, which targets a real URL). */
export interface FleetSpec {
  pods: number;
  /** Resolved engine profile with the scenario's overrides (the first pod's, in a mixed fleet). */
  profile: EngineProfile;
  /** Each pod's profile (`fleet.mix` gives pods different ones; else all are `profile`). */
  podProfiles: EngineProfile[];
  /** Scrape interval of the picker's metrics, ms (GIE default 50). */
  scrapeIntervalMs: number;
  /** Extra age of scraped metrics, ms. */
  metricsLagMs: number;
  /**
   * The pool of each pod when `fleet.mix` groups name pools (`pool:`), in pod order; absent when
   * no group does. A policy config with `pools:` gets each pool's pods by name.
   */
  podPools?: string[];
}

/** Shared system prompts (inference-perf `shared_prefix`). */
export interface SharedPrefixSpec {
  groups: number;
  systemTokens: Sampler;
  /** Picks a group index. */
  pickGroup: (rng: Rng) => number;
}

/** Multi-turn sessions: each arrival starts a session; later turns follow each answer. */
export interface SessionSpec {
  turns: Sampler;
  followUp: Sampler;
  /** Think time between an answer and the next turn, s. */
  thinkTimeS: Sampler;
}

/** Multi-LoRA traffic. */
export interface LoraSpec {
  adapters: string[];
  /** Popularity weight per adapter. */
  weights: number[];
  /** Fraction of requests that go to the base model instead. */
  baseFraction: number;
}

/** A tenant: a share of the arrivals sent with its own headers (objective, fairness id) and lengths. */
export interface TenantSpec {
  name: string;
  /** Relative share of arrivals. */
  weight: number;
  /** Request headers, e.g. `x-gateway-inference-objective`, `x-gateway-inference-fairness-id`. */
  headers: Record<string, string>;
  /** Overrides of the workload's lengths, or null. */
  input: Sampler | null;
  output: Sampler | null;
}

export interface WorkloadSpec {
  api: 'completions' | 'chat';
  /** Question (or whole prompt) tokens. */
  input: Sampler;
  output: Sampler;
  sharedPrefix: SharedPrefixSpec | null;
  sessions: SessionSpec | null;
  lora: LoraSpec | null;
  /** Tenants sharing the arrivals, or null (one anonymous tenant). */
  tenants: TenantSpec[] | null;
  /** Picks a tenant index by weight (set with `tenants`). */
  pickTenant: ((rng: Rng) => number) | null;
}

export interface StageSpec {
  name: string;
  /** Arrivals per second (requests, or sessions for multi-turn workloads). */
  rate: number;
  /** Seconds. */
  duration: number;
  /** Excluded from the summary. */
  warmup: boolean;
}

export interface ArrivalsSpec {
  process: 'poisson' | 'gamma' | 'constant';
  /** Gamma shape; CV of gaps = 1/sqrt(burstiness). 1 = Poisson. */
  burstiness: number;
  stages: StageSpec[];
}

export interface Scenario {
  name: string;
  description: string;
  seed: number;
  fleet: FleetSpec;
  workload: WorkloadSpec;
  arrivals: ArrivalsSpec;
  /** Seconds to wait for requests in flight after the last arrival. */
  drainS: number;
  /** Hard cap on requests sent. */
  maxRequests: number;
  slo: Slo;
  /** Policy names to compare (bench), or [] for the default set. */
  policies: string[];
  /** Extra director policies from EndpointPickerConfig files (paths resolved against the scenario file). */
  configs: Array<{ name: string; path: string }>;
  /** InferenceObjectives the environment defines (as Kubernetes would), given to every director policy. */
  objectives: Array<{ name: string; priority: number }>;
  /** The raw document, for reports. */
  source: unknown;
  /** A trace replayed instead of the sampled workload and stages (`--trace`), or absent. */
  trace?: ScenarioTrace | null;
}

type Obj = Record<string, unknown>;

function fail(path: string, msg: string): never {
  throw sbError('SB_ERR_CONFIG', path, msg);
}

function obj(v: unknown, path: string, optional = false): Obj {
  if (v === undefined || v === null) {
    if (optional) return {};
    fail(path, 'is required');
  }
  if (typeof v !== 'object' || Array.isArray(v)) fail(path, 'must be a mapping');
  return v as Obj;
}

function known(o: Obj, path: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(`${path}.${k}`, `unknown field (known: ${keys.join(', ')})`);
}

function num(v: unknown, path: string, dflt: number | undefined, lo: number, hi = Infinity, int = false): number {
  if (v === undefined || v === null) {
    if (dflt === undefined) fail(path, 'is required');
    return dflt;
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) fail(path, `must be a number in [${lo}, ${hi}]`);
  if (int && !Number.isInteger(v)) fail(path, 'must be an integer');
  return v;
}

/** Reads and validates a scenario file. */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw sbError('SB_ERR_CONFIG', file, (e as Error).message);
  }
  return parseScenario(text, file);
}

/** Parses and validates scenario YAML text. */
export function parseScenario(text: string, origin = 'scenario'): Scenario {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw sbError('SB_ERR_CONFIG', origin, `invalid YAML: ${(e as Error).message}`);
  }
  return buildScenario(doc, dirname(origin));
}

/** Validates an already-decoded scenario document; `baseDir` resolves relative config paths. */
export function buildScenario(doc: unknown, baseDir = '.'): Scenario {
  const root = obj(doc, 'scenario');
  known(root, 'scenario', ['name', 'description', 'seed', 'fleet', 'workload', 'arrivals', 'drain', 'maxRequests', 'slo', 'policies', 'configs', 'objectives']);
  const name = typeof root.name === 'string' && root.name !== '' ? root.name : fail('name', 'must be a non-empty string');
  const description = root.description === undefined ? '' : String(root.description);
  const seed = num(root.seed, 'seed', 1, 0, 2 ** 32 - 1, true);
  return {
    name,
    description,
    seed,
    fleet: buildFleet(obj(root.fleet, 'fleet', true)),
    workload: buildWorkload(obj(root.workload, 'workload')),
    arrivals: buildArrivals(obj(root.arrivals, 'arrivals')),
    drainS: num(root.drain, 'drain', 120, 0, 3600),
    maxRequests: num(root.maxRequests, 'maxRequests', 100_000, 1, 10_000_000, true),
    slo: buildSlo(obj(root.slo, 'slo', true)),
    policies: buildPolicies(root.policies),
    configs: Object.entries(obj(root.configs, 'configs', true)).map(([name, p]) => {
      if (typeof p !== 'string' || p === '') fail(`configs.${name}`, 'must be a config file path');
      return { name, path: isAbsolute(p) ? p : join(baseDir, p) };
    }),
    objectives: buildObjectives(root.objectives),
    source: doc,
  };
}

function buildFleet(f: Obj): FleetSpec {
  known(f, 'fleet', ['pods', 'profile', 'engine', 'mix', 'scrapeIntervalMs', 'metricsLagMs']);
  const profileName = f.profile === undefined ? undefined : String(f.profile);
  const engine = obj(f.engine, 'fleet.engine', true) as Partial<EngineProfile>;
  const profile = resolveProfile(profileName, engine);
  let podProfiles: EngineProfile[];
  let pods: number;
  const pools: string[] = [];
  if (f.mix === undefined || f.mix === null) {
    pods = num(f.pods, 'fleet.pods', 8, 1, 1024, true);
    podProfiles = new Array<EngineProfile>(pods).fill(profile);
  } else {
    podProfiles = buildMix(f.mix, profileName, engine, profile.model, pools);
    pods = podProfiles.length;
    if (f.pods !== undefined && num(f.pods, 'fleet.pods', undefined, 1, 1024, true) !== pods) fail('fleet.pods', `is ${String(f.pods)} but fleet.mix adds up to ${pods}`);
  }
  return {
    pods,
    profile: podProfiles[0],
    podProfiles,
    scrapeIntervalMs: num(f.scrapeIntervalMs, 'fleet.scrapeIntervalMs', 50, 1, 60_000),
    metricsLagMs: num(f.metricsLagMs, 'fleet.metricsLagMs', 0, 0, 60_000),
    ...(pools.length > 0 ? { podPools: pools } : {}),
  };
}

/** The pool of each pod (`fleet.mix[].pool`), or null when the fleet names no pools. */
export function podPools(fleet: FleetSpec): string[] | null {
  return fleet.podPools ?? null;
}

/**
 * A mixed fleet: `[{ pods, profile?, engine? }, ...]` in pod order. Each group's profile
 * defaults to `fleet.profile` and takes `fleet.engine` then its own overrides; every group must
 * serve the same model (requests name one). Groups may name the pool they belong to (`pool:`,
 * every group or none; a pool's groups need not be adjacent), collected in `pools` per pod.
 */
function buildMix(v: unknown, profileName: string | undefined, engine: Partial<EngineProfile>, model: string, pools: string[] = []): EngineProfile[] {
  if (!Array.isArray(v) || v.length === 0) fail('fleet.mix', 'must be a non-empty list of { pods, profile, engine }');
  const out: EngineProfile[] = [];
  const named = v.filter((g) => typeof g === 'object' && g !== null && (g as Obj).pool !== undefined).length;
  if (named > 0 && named < v.length) fail('fleet.mix', 'name a pool in every group or in none');
  v.forEach((g, i) => {
    const at = `fleet.mix[${i}]`;
    const o = obj(g, at);
    known(o, at, ['pods', 'profile', 'engine', 'pool']);
    if (o.pool !== undefined && (typeof o.pool !== 'string' || o.pool === '')) fail(`${at}.pool`, 'must be a non-empty string');
    const n = num(o.pods, `${at}.pods`, undefined, 1, 1024, true);
    const p = resolveProfile(o.profile === undefined ? profileName : String(o.profile), { ...engine, ...(obj(o.engine, `${at}.engine`, true) as Partial<EngineProfile>) });
    if (p.model !== model) fail(`${at}.profile`, `serves ${p.model} but the fleet serves ${model}: a mixed fleet serves one model`);
    for (let k = 0; k < n; k++) {
      out.push(p);
      if (o.pool !== undefined) pools.push(o.pool as string);
    }
  });
  if (out.length > 1024) fail('fleet.mix', `adds up to ${out.length} pods (at most 1024)`);
  return out;
}

/** `8× llama-3.1-8b-h100`, or each group of a mixed fleet: `6× llama-3.1-8b-h100 + 2× llama-3.1-8b-l4`. */
export function fleetLabel(f: FleetSpec): string {
  const parts: Array<[string, number]> = [];
  for (const p of f.podProfiles) {
    const last = parts.at(-1);
    if (last !== undefined && last[0] === p.name) last[1]++;
    else parts.push([p.name, 1]);
  }
  return parts.map(([name, n]) => `${n}× ${name}`).join(' + ');
}

function buildObjectives(v: unknown): Scenario['objectives'] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail('objectives', 'must be a list of {name, priority}');
  return v.map((o, i) => {
    const oo = obj(o, `objectives[${i}]`);
    known(oo, `objectives[${i}]`, ['name', 'priority']);
    if (typeof oo.name !== 'string' || oo.name === '') fail(`objectives[${i}].name`, 'must be a non-empty string');
    return { name: oo.name, priority: num(oo.priority, `objectives[${i}].priority`, 0, -1e9, 1e9, true) };
  });
}

function buildTenants(v: unknown): TenantSpec[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.length === 0) fail('workload.tenants', 'must be a non-empty list');
  const names = new Set<string>();
  return v.map((t, i) => {
    const at = `workload.tenants[${i}]`;
    const o = obj(t, at);
    known(o, at, ['name', 'weight', 'headers', 'input', 'output']);
    if (typeof o.name !== 'string' || o.name === '') fail(`${at}.name`, 'must be a non-empty string');
    if (names.has(o.name)) fail(`${at}.name`, `duplicate tenant "${o.name}"`);
    names.add(o.name);
    const headers: Record<string, string> = {};
    for (const [k, val] of Object.entries(obj(o.headers, `${at}.headers`, true))) {
      if (typeof val !== 'string') fail(`${at}.headers.${k}`, 'must be a string');
      headers[k.toLowerCase()] = val;
    }
    return {
      name: o.name,
      weight: num(o.weight, `${at}.weight`, 1, 0),
      headers,
      input: o.input === undefined ? null : compileCount(o.input, `${at}.input`),
      output: o.output === undefined ? null : compileCount(o.output, `${at}.output`),
    };
  });
}

function buildWorkload(w: Obj): WorkloadSpec {
  known(w, 'workload', ['api', 'input', 'output', 'sharedPrefix', 'sessions', 'lora', 'tenants']);
  const api = w.api ?? 'completions';
  if (api !== 'completions' && api !== 'chat') fail('workload.api', 'must be completions or chat');
  if (w.input === undefined) fail('workload.input', 'is required');
  if (w.output === undefined) fail('workload.output', 'is required');
  let sharedPrefix: SharedPrefixSpec | null = null;
  if (w.sharedPrefix !== undefined && w.sharedPrefix !== null) {
    const s = obj(w.sharedPrefix, 'workload.sharedPrefix');
    known(s, 'workload.sharedPrefix', ['groups', 'systemTokens', 'popularity']);
    const groups = num(s.groups, 'workload.sharedPrefix.groups', undefined, 1, 100_000, true);
    const weights = popularity(s.popularity, groups, 'workload.sharedPrefix.popularity');
    sharedPrefix = {
      groups,
      systemTokens: compileCount(s.systemTokens, 'workload.sharedPrefix.systemTokens'),
      pickGroup: weightedPicker(weights, 'workload.sharedPrefix.popularity'),
    };
  }
  let sessions: SessionSpec | null = null;
  if (w.sessions !== undefined && w.sessions !== null) {
    const s = obj(w.sessions, 'workload.sessions');
    known(s, 'workload.sessions', ['turns', 'followUp', 'thinkTimeS']);
    sessions = {
      turns: compileCount(s.turns, 'workload.sessions.turns'),
      followUp: compileCount(s.followUp, 'workload.sessions.followUp'),
      thinkTimeS: compileDist(s.thinkTimeS ?? 0, 'workload.sessions.thinkTimeS'),
    };
  }
  let lora: LoraSpec | null = null;
  if (w.lora !== undefined && w.lora !== null) {
    const l = obj(w.lora, 'workload.lora');
    known(l, 'workload.lora', ['adapters', 'popularity', 'baseFraction']);
    let adapters: string[];
    if (typeof l.adapters === 'number') {
      const n = num(l.adapters, 'workload.lora.adapters', undefined, 1, 10_000, true);
      adapters = Array.from({ length: n }, (_, i) => `adapter-${i}`);
    } else if (Array.isArray(l.adapters) && l.adapters.length > 0 && l.adapters.every((a) => typeof a === 'string' && a !== '')) {
      adapters = l.adapters as string[];
    } else fail('workload.lora.adapters', 'must be a count or a list of adapter names');
    lora = {
      adapters,
      weights: popularity(l.popularity, adapters.length, 'workload.lora.popularity'),
      baseFraction: num(l.baseFraction, 'workload.lora.baseFraction', 0, 0, 1),
    };
  }
  const tenants = buildTenants(w.tenants);
  return {
    api,
    input: compileCount(w.input, 'workload.input'),
    output: compileCount(w.output, 'workload.output'),
    sharedPrefix,
    sessions,
    lora,
    tenants,
    pickTenant: tenants === null ? null : weightedPicker(tenants.map((t) => t.weight), 'workload.tenants'),
  };
}

/**
 * `uniform` (default), `{ zipf: s }`, `{ hotSpot: share }` (the first item carries `share` of
 * the traffic, the rest split the remainder evenly) or `{ weights: [...] }` (tiered splits).
 */
function popularity(v: unknown, n: number, path: string): number[] {
  if (v === undefined || v === null || v === 'uniform') return new Array<number>(n).fill(1);
  const o = obj(v, path);
  if (o.zipf !== undefined) return zipfWeights(n, num(o.zipf, `${path}.zipf`, undefined, 0, 10));
  if (o.hotSpot !== undefined) {
    const share = num(o.hotSpot, `${path}.hotSpot`, undefined, 0, 1);
    if (n === 1) return [1];
    return Array.from({ length: n }, (_, i) => (i === 0 ? share : (1 - share) / (n - 1)));
  }
  if (Array.isArray(o.weights)) {
    if (o.weights.length !== n) fail(`${path}.weights`, `needs ${n} entries`);
    return o.weights.map((w, i) => num(w, `${path}.weights[${i}]`, undefined, 0));
  }
  fail(path, 'must be "uniform", { zipf: s }, { hotSpot: share } or { weights: [...] }');
}

function buildArrivals(a: Obj): ArrivalsSpec {
  known(a, 'arrivals', ['process', 'burstiness', 'stages', 'ladder']);
  const process = a.process ?? 'poisson';
  if (process !== 'poisson' && process !== 'gamma' && process !== 'constant') fail('arrivals.process', 'must be poisson, gamma or constant');
  const burstiness = num(a.burstiness, 'arrivals.burstiness', 1, 0.01, 100);
  const stages: StageSpec[] = [];
  if (a.stages !== undefined) {
    if (!Array.isArray(a.stages)) fail('arrivals.stages', 'must be a list');
    a.stages.forEach((s, i) => {
      const st = obj(s, `arrivals.stages[${i}]`);
      known(st, `arrivals.stages[${i}]`, ['name', 'rate', 'duration', 'warmup']);
      stages.push({
        name: st.name === undefined ? `${+Number(st.rate).toFixed(3)}/s` : String(st.name),
        rate: num(st.rate, `arrivals.stages[${i}].rate`, undefined, 0, 100_000),
        duration: num(st.duration, `arrivals.stages[${i}].duration`, undefined, 0.001, 86_400),
        warmup: st.warmup === true,
      });
    });
  }
  if (a.ladder !== undefined) {
    const l = obj(a.ladder, 'arrivals.ladder');
    known(l, 'arrivals.ladder', ['from', 'to', 'steps', 'stageDuration']);
    const from = num(l.from, 'arrivals.ladder.from', undefined, 0);
    const to = num(l.to, 'arrivals.ladder.to', undefined, 0);
    const steps = num(l.steps, 'arrivals.ladder.steps', undefined, 1, 1000, true);
    const d = num(l.stageDuration, 'arrivals.ladder.stageDuration', undefined, 0.001);
    for (let i = 0; i < steps; i++) {
      const rate = steps === 1 ? from : from + ((to - from) * i) / (steps - 1);
      stages.push({ name: `${+rate.toFixed(3)}/s`, rate, duration: d, warmup: false });
    }
  }
  if (stages.length === 0) fail('arrivals', 'needs stages or a ladder');
  if (stages.every((s) => s.warmup)) fail('arrivals.stages', 'every stage is a warm-up; nothing would be measured');
  return { process, burstiness, stages };
}

function buildSlo(s: Obj): Slo {
  known(s, 'slo', ['ttftMs', 'tpotMs', 'itlMs', 'ntpotMs', 'e2eMs']);
  const out: Slo = {};
  for (const k of ['ttftMs', 'tpotMs', 'itlMs', 'ntpotMs', 'e2eMs'] as const) {
    if (s[k] !== undefined) out[k] = num(s[k], `slo.${k}`, undefined, 0);
  }
  return out;
}

function buildPolicies(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((p) => typeof p === 'string' && p !== '')) fail('policies', 'must be a list of policy names');
  return v as string[];
}

/** Total seconds of all stages. */
export function scenarioDuration(s: Scenario): number {
  return s.arrivals.stages.reduce((a, st) => a + st.duration, 0);
}

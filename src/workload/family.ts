/**
 * Workload families: a versioned YAML file of ranges and choices from which `switchboard bench
 * --generate N` draws N scenarios. Each draw becomes an ordinary scenario document (so any
 * result can be replayed with `--scenario`); its arrival rate is set from the fleet's capacity,
 * which the caller measures with a least-request calibration ladder (`calibrationDoc` builds a
 * ladder rung, `scenarioDoc` the final scenario).
 *
 * Draw `i` depends only on the family, its seed and `i`, so the first 10 of 60 are the 10 of a
 * 10-scenario run. The format is documented in `bench/families/README.md`; every field is
 * checked here and a bad one stops with `invalid config: <file>: <field>: <reason>`.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { sbError } from '../errors.js';
import { Rng } from '../util/random.js';
import { PROFILES, resolveProfile, type EngineProfile } from './engine-profile.js';
import type { Slo } from './metrics.js';

/** The family format this reader understands. */
export const FAMILY_VERSION = 1;

type Draw<T> = (rng: Rng) => T;
/** A choice, with the names it can produce. */
type Choice<T extends string> = Draw<T> & { options: readonly T[] };
type Obj = Record<string, unknown>;

/** A parsed family: every parameter compiled to a draw. */
export interface Family {
  version: number;
  name: string;
  description: string;
  /** Seed of the draws (`--family-seed` overrides). */
  seed: number;
  /**
   * Arrivals (session starts for multi-turn workloads) per pod in the measured stage and in the
   * warm-up: runs grow with the fleet, so a large fleet is loaded as deeply as a small one.
   */
  measuredPerPod: number;
  warmupPerPod: number;
  /**
   * Bound on the tokens (prompt + output, every turn) one run may send, which is what a virtual
   * run costs: long-prompt draws get fewer arrivals per pod (never under `minPerPod`).
   */
  maxTokensPerRun: number;
  minPerPod: number;
  drainS: number;
  slo: Slo;
  scrapeIntervalMs: number;
  fleet: {
    pods: Draw<number>;
    /** Probability that a fleet is mixed. */
    mixed: number;
    primary: string;
    secondary: Choice<string>;
    /** Share of a mixed fleet's pods on the secondary profile. */
    secondaryShare: Draw<number>;
    /** Multiplies every profile's KV blocks (KV pressure). */
    kvScale: Draw<number>;
    /** Running sequences per pod (`max_num_seqs`), capped by each profile's own. */
    maxNumSeqs: Draw<number>;
  };
  workload: {
    api: Draw<'completions' | 'chat'>;
    input: LengthDraw;
    output: LengthDraw;
    sharedPrefix: {
      share: number;
      groups: Draw<number>;
      popularity: Draw<'uniform' | 'zipf' | 'hotSpot'>;
      zipf: Draw<number>;
      hotSpot: Draw<number>;
      systemTokens: Draw<number>;
    };
    lora: {
      share: number;
      adapters: Draw<number>;
      slots: Draw<number>;
      popularity: Draw<'uniform' | 'zipf'>;
      zipf: Draw<number>;
      baseFraction: Draw<number>;
    };
    sessions: {
      share: number;
      turns: Draw<number>;
      followUp: Draw<number>;
      thinkTimeS: Draw<number>;
    };
  };
  arrivals: {
    process: Draw<'poisson' | 'gamma' | 'constant'>;
    /** Coefficient of variation of gamma gaps. */
    cv: Draw<number>;
    /** Offered load as a fraction of the calibrated capacity. */
    load: Draw<number>;
  };
  calibration: CalibrationSpec;
}

/** A heavy-tailed length: log-normal by median and p95 = median × tail, clamped to max. */
export interface LengthDraw {
  median: Draw<number>;
  tail: Draw<number>;
  max: number;
}

/** The least-request calibration ladder. */
export interface CalibrationSpec {
  /** Arrivals per pod per rung. */
  requestsPerPod: number;
  /** First rung, requests/s per pod. */
  startPerPod: number;
  /** Rate multiplier between rungs while they hold. */
  growth: number;
  /** Halvings (geometric) of the interval between the last rung held and the first that did not. */
  bisections: number;
  /** A rung holds when TTFT p50 of its last third ≤ slowdown × that of its first third + slackMs, success ≥ 99%, and TPOT p50 ≤ tpotSlowdown × the first rung's. */
  slowdown: number;
  slackMs: number;
  tpotSlowdown: number;
  /** Rungs after the first, and the measured stage, last at least this many light-load E2E p50s. */
  minServiceTimes: number;
  /** Most arrivals per pod a long rung or stage may take (bounds a run's cost). */
  maxPerPod: number;
}

/** What one draw decided, before the capacity is known. */
export interface Draft {
  index: number;
  name: string;
  pods: number;
  seed: number;
  /** The scenario document without `arrivals`, `maxRequests` and the final description. */
  base: Obj;
  process: 'poisson' | 'gamma' | 'constant';
  /** Gamma shape (1/CV²); 1 for the others. */
  burstiness: number;
  /** Offered load, fraction of capacity. */
  load: number;
  /** Mean turns per arrival (1 without sessions): sizes the request cap. */
  meanTurns: number;
  /** Expected tokens (prompt + output, every turn) one arrival sends. */
  tokensPerArrival: number;
  /** A one-line account of the draw. */
  summary: string;
}

function fail(origin: string, path: string, msg: string): never {
  throw sbError('SB_ERR_CONFIG', `${origin}: ${path}`, msg);
}

/** Reads and validates a family file. */
export function loadFamily(file: string): Family {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw sbError('SB_ERR_CONFIG', file, (e as Error).message);
  }
  return parseFamily(text, file);
}

/** Parses and validates family YAML; `origin` names the file in errors. */
export function parseFamily(text: string, origin = 'family'): Family {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw sbError('SB_ERR_CONFIG', origin, `invalid YAML: ${(e as Error).message}`);
  }
  return new FamilyReader(origin).family(doc);
}

/** Validation with the file name in every error. */
class FamilyReader {
  constructor(private readonly origin: string) {}

  private fail(path: string, msg: string): never {
    fail(this.origin, path, msg);
  }

  private obj(v: unknown, path: string, keys: readonly string[], optional = false): Obj {
    if (v === undefined || v === null) {
      if (optional) return {};
      this.fail(path, 'is required');
    }
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(path, 'must be a mapping');
    const o = v as Obj;
    for (const k of Object.keys(o)) if (!keys.includes(k)) this.fail(`${path === '' ? '' : `${path}.`}${k}`, `unknown field (known: ${keys.join(', ')})`);
    return o;
  }

  private num(v: unknown, path: string, dflt: number | undefined, lo: number, hi: number, int = false): number {
    if (v === undefined || v === null) {
      if (dflt === undefined) this.fail(path, 'is required');
      return dflt;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) this.fail(path, `must be a number in [${lo}, ${hi}]`);
    if (int && !Number.isInteger(v)) this.fail(path, 'must be an integer');
    return v;
  }

  /**
   * A numeric parameter: a constant, `[lo, hi]` (uniform; integers are equally likely),
   * `{ log: [lo, hi] }` (log-uniform) or `{ oneOf: [a, b, ...] }`; every value within [min, max].
   */
  private numDraw(v: unknown, path: string, dflt: unknown, min: number, max: number, int: boolean): Draw<number> {
    if (v === undefined || v === null) v = dflt;
    const check = (x: unknown, at: string): number => this.num(x, at, undefined, min, max, int);
    const round = (x: number): number => (int ? Math.round(x) : x);
    if (typeof v === 'number') {
      const c = check(v, path);
      return () => c;
    }
    if (Array.isArray(v)) {
      if (v.length !== 2) this.fail(path, 'a range must be [low, high]');
      const a = check(v[0], `${path}[0]`);
      const b = check(v[1], `${path}[1]`);
      if (a > b) this.fail(path, 'low must not exceed high');
      if (int) return (rng) => rng.int(a, b);
      return (rng) => a + rng.next() * (b - a);
    }
    const o = this.obj(v, path, ['log', 'oneOf']);
    if (o.log !== undefined) {
      if (!Array.isArray(o.log) || o.log.length !== 2) this.fail(`${path}.log`, 'must be [low, high]');
      const a = check(o.log[0], `${path}.log[0]`);
      const b = check(o.log[1], `${path}.log[1]`);
      if (!(a > 0)) this.fail(`${path}.log[0]`, 'must be above 0');
      if (a > b) this.fail(`${path}.log`, 'low must not exceed high');
      const la = Math.log(a);
      const lb = Math.log(b);
      return (rng) => Math.min(b, Math.max(a, round(Math.exp(la + rng.next() * (lb - la)))));
    }
    if (Array.isArray(o.oneOf) && o.oneOf.length > 0) {
      const values = o.oneOf.map((x, i) => check(x, `${path}.oneOf[${i}]`));
      return (rng) => values[rng.int(0, values.length - 1)];
    }
    this.fail(path, 'must be a number, [low, high], { log: [low, high] } or { oneOf: [...] }');
  }

  /** A choice: a name, `{ oneOf: [names] }` (equally likely) or `{ oneOf: { name: weight } }`. */
  private choice<T extends string>(v: unknown, path: string, dflt: unknown, allowed: readonly T[]): Choice<T> {
    if (v === undefined || v === null) v = dflt;
    const name = (x: unknown, at: string): T => {
      if (typeof x !== 'string' || !allowed.includes(x as T)) this.fail(at, `must be one of ${allowed.join(', ')}`);
      return x as T;
    };
    if (typeof v === 'string') {
      const c = name(v, path);
      return Object.assign(() => c, { options: [c] });
    }
    const o = this.obj(v, path, ['oneOf']);
    let names: T[];
    let weights: number[];
    if (Array.isArray(o.oneOf) && o.oneOf.length > 0) {
      names = o.oneOf.map((x, i) => name(x, `${path}.oneOf[${i}]`));
      weights = names.map(() => 1);
    } else if (typeof o.oneOf === 'object' && o.oneOf !== null && !Array.isArray(o.oneOf) && Object.keys(o.oneOf).length > 0) {
      const entries = Object.entries(o.oneOf as Obj);
      names = entries.map(([k]) => name(k, `${path}.oneOf.${k}`));
      weights = entries.map(([k, w]) => this.num(w, `${path}.oneOf.${k}`, undefined, 0, 1e6));
    } else this.fail(path, `must be one of ${allowed.join(', ')} or { oneOf: [...] } / { oneOf: { name: weight } }`);
    const total = weights.reduce((a, b) => a + b, 0);
    if (!(total > 0)) this.fail(`${path}.oneOf`, 'weights must sum to more than 0');
    const draw = (rng: Rng): T => {
      let u = rng.next() * total;
      for (let i = 0; i < names.length; i++) if ((u -= weights[i]) < 0) return names[i];
      return names[names.length - 1];
    };
    return Object.assign(draw, { options: names.filter((_, i) => weights[i] > 0) });
  }

  private length(v: unknown, path: string, dflt: { median: unknown; tail: unknown; max: number }): LengthDraw {
    const o = this.obj(v, path, ['median', 'tail', 'max'], true);
    return {
      median: this.numDraw(o.median, `${path}.median`, dflt.median, 1, 131_072, true),
      tail: this.numDraw(o.tail, `${path}.tail`, dflt.tail, 1, 100, false),
      max: this.num(o.max, `${path}.max`, dflt.max, 1, 131_072, true),
    };
  }

  family(doc: unknown): Family {
    const root = this.obj(doc, 'family', ['version', 'name', 'description', 'seed', 'scenario', 'fleet', 'workload', 'arrivals', 'calibration']);
    if (root.version !== FAMILY_VERSION) this.fail('version', `must be ${FAMILY_VERSION} (the family format this Switchboard reads)`);
    if (typeof root.name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(root.name)) this.fail('name', 'must be a lower-case name (letters, digits, dashes)');
    const sc = this.obj(root.scenario, 'scenario', ['measuredPerPod', 'warmupPerPod', 'maxTokensPerRun', 'minPerPod', 'drain', 'slo', 'scrapeIntervalMs'], true);
    const slo = this.obj(sc.slo, 'scenario.slo', ['ttftMs', 'tpotMs', 'itlMs', 'ntpotMs', 'e2eMs'], true);
    const sloOut: Slo = {};
    for (const k of ['ttftMs', 'tpotMs', 'itlMs', 'ntpotMs', 'e2eMs'] as const) if (slo[k] !== undefined) sloOut[k] = this.num(slo[k], `scenario.slo.${k}`, undefined, 0, 1e9);
    const fl = this.obj(root.fleet, 'fleet', ['pods', 'mixed', 'primary', 'secondary', 'secondaryShare', 'kvScale', 'maxNumSeqs'], true);
    const profiles = Object.keys(PROFILES).filter((p) => PROFILES[p].embeddingDim === 0);
    if (fl.primary !== undefined && typeof fl.primary !== 'string') this.fail('fleet.primary', 'must be a profile name');
    const primary = this.choice(fl.primary, 'fleet.primary', 'llama-3.1-8b-h100', profiles).options[0];
    const secondary = this.choice(fl.secondary, 'fleet.secondary', { oneOf: ['llama-3.1-8b-a100-40gb', 'llama-3.1-8b-l4'] }, profiles);
    for (const p of secondary.options) {
      // Every secondary the family may draw must serve the primary's model (one model per fleet).
      if (PROFILES[p].model !== PROFILES[primary].model) this.fail('fleet.secondary', `${p} serves ${PROFILES[p].model}, the primary ${primary} serves ${PROFILES[primary].model}`);
    }
    const wl = this.obj(root.workload, 'workload', ['api', 'input', 'output', 'sharedPrefix', 'sessions', 'lora'], true);
    const sp = this.obj(wl.sharedPrefix, 'workload.sharedPrefix', ['share', 'groups', 'popularity', 'zipf', 'hotSpot', 'systemTokens'], true);
    const lo = this.obj(wl.lora, 'workload.lora', ['share', 'adapters', 'slots', 'popularity', 'zipf', 'baseFraction'], true);
    const se = this.obj(wl.sessions, 'workload.sessions', ['share', 'turns', 'followUp', 'thinkTimeS'], true);
    const ar = this.obj(root.arrivals, 'arrivals', ['process', 'cv', 'load'], true);
    const ca = this.obj(root.calibration, 'calibration', ['requestsPerPod', 'startPerPod', 'growth', 'bisections', 'slowdown', 'slackMs', 'tpotSlowdown', 'minServiceTimes', 'maxPerPod'], true);
    return {
      version: FAMILY_VERSION,
      name: root.name,
      description: root.description === undefined ? '' : String(root.description),
      seed: this.num(root.seed, 'seed', 1, 0, 2 ** 32 - 1, true),
      measuredPerPod: this.num(sc.measuredPerPod, 'scenario.measuredPerPod', 40, 1, 100_000, true),
      warmupPerPod: this.num(sc.warmupPerPod, 'scenario.warmupPerPod', 15, 0, 100_000, true),
      maxTokensPerRun: this.num(sc.maxTokensPerRun, 'scenario.maxTokensPerRun', 4_000_000, 1000, 1e10, true),
      minPerPod: this.num(sc.minPerPod, 'scenario.minPerPod', 10, 1, 100_000, true),
      drainS: this.num(sc.drain, 'scenario.drain', 120, 0, 3600),
      slo: sloOut,
      scrapeIntervalMs: this.num(sc.scrapeIntervalMs, 'scenario.scrapeIntervalMs', 50, 1, 60_000),
      fleet: {
        pods: this.numDraw(fl.pods, 'fleet.pods', [4, 32], 1, 1024, true),
        mixed: this.num(fl.mixed, 'fleet.mixed', 0.4, 0, 1),
        primary,
        secondary,
        secondaryShare: this.numDraw(fl.secondaryShare, 'fleet.secondaryShare', [0.25, 0.5], 0, 1, false),
        kvScale: this.numDraw(fl.kvScale, 'fleet.kvScale', { log: [0.15, 1] }, 0.001, 10, false),
        maxNumSeqs: this.numDraw(fl.maxNumSeqs, 'fleet.maxNumSeqs', { oneOf: [32, 64, 128] }, 1, 1_000_000, true),
      },
      workload: {
        api: this.choice(wl.api, 'workload.api', { oneOf: ['completions', 'chat'] }, ['completions', 'chat'] as const),
        input: this.length(wl.input, 'workload.input', { median: { log: [64, 1024] }, tail: [3, 10], max: 16_000 }),
        output: this.length(wl.output, 'workload.output', { median: { log: [32, 512] }, tail: [2, 6], max: 4_000 }),
        sharedPrefix: {
          share: this.num(sp.share, 'workload.sharedPrefix.share', 0.7, 0, 1),
          groups: this.numDraw(sp.groups, 'workload.sharedPrefix.groups', { log: [1, 200] }, 1, 100_000, true),
          popularity: this.choice(sp.popularity, 'workload.sharedPrefix.popularity', { oneOf: ['uniform', 'zipf', 'hotSpot'] }, ['uniform', 'zipf', 'hotSpot'] as const),
          zipf: this.numDraw(sp.zipf, 'workload.sharedPrefix.zipf', [0.6, 1.4], 0, 10, false),
          hotSpot: this.numDraw(sp.hotSpot, 'workload.sharedPrefix.hotSpot', [0.5, 0.9], 0, 1, false),
          systemTokens: this.numDraw(sp.systemTokens, 'workload.sharedPrefix.systemTokens', { log: [500, 16_000] }, 1, 131_072, true),
        },
        lora: {
          share: this.num(lo.share, 'workload.lora.share', 0.35, 0, 1),
          adapters: this.numDraw(lo.adapters, 'workload.lora.adapters', { log: [1, 64] }, 1, 10_000, true),
          slots: this.numDraw(lo.slots, 'workload.lora.slots', [1, 8], 1, 1024, true),
          popularity: this.choice(lo.popularity, 'workload.lora.popularity', { oneOf: ['uniform', 'zipf'] }, ['uniform', 'zipf'] as const),
          zipf: this.numDraw(lo.zipf, 'workload.lora.zipf', [0.6, 1.4], 0, 10, false),
          baseFraction: this.numDraw(lo.baseFraction, 'workload.lora.baseFraction', [0, 0.3], 0, 1, false),
        },
        sessions: {
          share: this.num(se.share, 'workload.sessions.share', 0.3, 0, 1),
          turns: this.numDraw(se.turns, 'workload.sessions.turns', [2, 8], 1, 1000, true),
          followUp: this.numDraw(se.followUp, 'workload.sessions.followUp', { log: [20, 400] }, 1, 131_072, true),
          thinkTimeS: this.numDraw(se.thinkTimeS, 'workload.sessions.thinkTimeS', [0.5, 5], 0, 3600, false),
        },
      },
      arrivals: {
        process: this.choice(ar.process, 'arrivals.process', { oneOf: { poisson: 2, gamma: 2, constant: 1 } }, ['poisson', 'gamma', 'constant'] as const),
        cv: this.numDraw(ar.cv, 'arrivals.cv', [1.2, 4], 0.1, 10, false),
        load: this.numDraw(ar.load, 'arrivals.load', [0.5, 1.1], 0.01, 10, false),
      },
      calibration: {
        requestsPerPod: this.num(ca.requestsPerPod, 'calibration.requestsPerPod', 40, 1, 100_000, true),
        startPerPod: this.num(ca.startPerPod, 'calibration.startPerPod', 0.5, 0.001, 10_000),
        growth: this.num(ca.growth, 'calibration.growth', 2, 1.05, 10),
        bisections: this.num(ca.bisections, 'calibration.bisections', 2, 0, 10, true),
        slowdown: this.num(ca.slowdown, 'calibration.slowdown', 1.5, 1, 100),
        slackMs: this.num(ca.slackMs, 'calibration.slackMs', 250, 0, 60_000),
        tpotSlowdown: this.num(ca.tpotSlowdown, 'calibration.tpotSlowdown', 3, 1, 100),
        minServiceTimes: this.num(ca.minServiceTimes, 'calibration.minServiceTimes', 4, 0, 1000),
        maxPerPod: this.num(ca.maxPerPod, 'calibration.maxPerPod', 400, 1, 100_000, true),
      },
    };
  }
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
/** A stage duration, s: rounded up to whole ms so no arrival is lost to rounding. */
const dur = (x: number): number => Math.max(0.001, Math.ceil(x * 1000) / 1000);

/**
 * Draw `index` of `f`: fleet, workload, arrival process and offered load. Lengths are bounded so
 * that the longest request (and a session's last turn) fits the smallest context any pod
 * allows, and KV is never scaled below three such requests per pod.
 */
export function drawScenario(f: Family, index: number, seed = f.seed): Draft {
  const rng = new Rng(seed).fork(`scenario-${index}`);
  const name = `${f.name}-${String(index).padStart(3, '0')}`;
  const scenarioSeed = rng.nextU32();
  const words: string[] = [];

  // Fleet.
  const pods = f.fleet.pods(rng);
  const mixed = pods >= 2 && rng.next() < f.fleet.mixed;
  const secondary = f.fleet.secondary(rng);
  const nSecondary = mixed ? Math.min(pods - 1, Math.max(1, Math.round(pods * f.fleet.secondaryShare(rng)))) : 0;
  const kvScale = f.fleet.kvScale(rng);
  const maxSeqs = f.fleet.maxNumSeqs(rng);
  const profileNames = nSecondary > 0 ? [f.fleet.primary, secondary] : [f.fleet.primary];
  const profiles: EngineProfile[] = profileNames.map((p) => resolveProfile(p));
  const contextLimit = Math.min(...profiles.map((p) => p.maxModelLen));

  // Workload draws (each drawn whether used or not, so one choice does not shift the others).
  const w = f.workload;
  const api = w.api(rng);
  const inMedian = w.input.median(rng);
  const inTail = w.input.tail(rng);
  const outMedian = w.output.median(rng);
  const outTail = w.output.tail(rng);
  const hasPrefix = rng.next() < w.sharedPrefix.share;
  const groups = w.sharedPrefix.groups(rng);
  const popularity = w.sharedPrefix.popularity(rng);
  const zipf = w.sharedPrefix.zipf(rng);
  const hot = w.sharedPrefix.hotSpot(rng);
  let systemTokens = w.sharedPrefix.systemTokens(rng);
  const hasLora = rng.next() < w.lora.share;
  const adapters = w.lora.adapters(rng);
  const slots = w.lora.slots(rng);
  const loraPop = w.lora.popularity(rng);
  const loraZipf = w.lora.zipf(rng);
  const baseFraction = w.lora.baseFraction(rng);
  const hasSessions = rng.next() < w.sessions.share;
  const maxTurns = Math.max(2, w.sessions.turns(rng));
  let followUp = w.sessions.followUp(rng);
  const think = w.sessions.thinkTimeS(rng);
  const process = f.arrivals.process(rng);
  const cv = f.arrivals.cv(rng);
  const load = f.arrivals.load(rng);

  // Fit the longest context into the smallest limit (10% headroom for the chat template).
  let inMax = Math.min(w.input.max, Math.max(inMedian, Math.round(inMedian * inTail * 3)));
  let outMax = Math.min(w.output.max, Math.max(outMedian, Math.round(outMedian * outTail * 3)));
  if (!hasPrefix) systemTokens = 0;
  if (!hasSessions) followUp = 0;
  const turns = hasSessions ? maxTurns : 1;
  const worst = (): number => systemTokens + inMax + outMax + (turns - 1) * (followUp + outMax);
  const budget = Math.floor(contextLimit * 0.9);
  if (worst() > budget) {
    const k = budget / worst();
    systemTokens = Math.floor(systemTokens * k);
    inMax = Math.max(1, Math.floor(inMax * k));
    outMax = Math.max(1, Math.floor(outMax * k));
    followUp = Math.floor(followUp * k);
  }
  const longest = worst();
  const inMean = lognormalMean(Math.min(inMedian, inMax), inTail, inMax);
  const outMean = lognormalMean(Math.min(outMedian, outMax), outTail, outMax);
  const meanTurns = hasSessions ? (2 + maxTurns) / 2 : 1;
  // Turn t (0-based) carries the system prompt, the first question and t earlier exchanges.
  let tokensPerArrival = 0;
  for (let t = 0; t < meanTurns; t++) tokensPerArrival += systemTokens + inMean + t * (followUp + outMean) + outMean;

  const fleet: Obj = { pods, profile: f.fleet.primary, scrapeIntervalMs: f.scrapeIntervalMs };
  const blocks = (p: EngineProfile): number => Math.max(Math.round(p.numGpuBlocks * kvScale), Math.ceil((3 * longest) / p.blockSize));
  const engine = (p: EngineProfile): Obj => {
    const e: Obj = { numGpuBlocks: blocks(p), maxNumSeqs: Math.min(maxSeqs, p.maxNumSeqs) };
    if (hasLora) e.maxLoras = slots;
    return e;
  };
  if (nSecondary > 0) {
    delete fleet.pods;
    fleet.mix = [
      { pods: pods - nSecondary, engine: engine(profiles[0]) },
      { pods: nSecondary, profile: secondary, engine: engine(profiles[1]) },
    ];
    words.push(`${pods} pods (${pods - nSecondary}× ${f.fleet.primary} + ${nSecondary}× ${secondary})`);
  } else {
    fleet.engine = engine(profiles[0]);
    words.push(`${pods}× ${f.fleet.primary}`);
  }
  words.push(`KV ×${r3(kvScale)}, ≤ ${maxSeqs} sequences per pod`);

  const lengthDist = (median: number, tail: number, max: number): Obj => ({ lognormal: { median: Math.min(median, max), p95: Math.max(Math.min(median, max), Math.round(Math.min(median, max) * tail)) }, max });
  const workload: Obj = {
    api,
    input: lengthDist(inMedian, inTail, inMax),
    output: lengthDist(outMedian, outTail, outMax),
  };
  words.push(`${api}, input median ${Math.min(inMedian, inMax)} (p95 ×${r3(inTail)}, max ${inMax}), output median ${Math.min(outMedian, outMax)} (max ${outMax})`);
  if (hasPrefix && systemTokens > 0) {
    const pop = popularity === 'uniform' ? 'uniform' : popularity === 'zipf' ? { zipf: r3(zipf) } : { hotSpot: r3(hot) };
    workload.sharedPrefix = { groups, systemTokens, popularity: pop };
    words.push(`${groups} prefix group(s) of ${systemTokens} tokens, ${popularity === 'uniform' ? 'uniform' : popularity === 'zipf' ? `Zipf ${r3(zipf)}` : `hot spot ${Math.round(hot * 100)}%`}`);
  }
  if (hasLora) {
    workload.lora = { adapters, popularity: loraPop === 'uniform' ? 'uniform' : { zipf: r3(loraZipf) }, baseFraction: r3(baseFraction) };
    words.push(`${adapters} adapter(s) in ${slots} slot(s)${loraPop === 'zipf' ? `, Zipf ${r3(loraZipf)}` : ''}`);
  }
  if (hasSessions) {
    workload.sessions = { turns: { uniform: [2, maxTurns] }, followUp: Math.max(1, followUp), thinkTimeS: { exponential: { mean: r3(think) } } };
    words.push(`sessions of 2-${maxTurns} turns`);
  }
  const burstiness = process === 'gamma' ? r3(1 / (cv * cv)) : 1;
  words.push(process === 'gamma' ? `gamma arrivals (CV ${r3(cv)})` : `${process} arrivals`);

  const base: Obj = {
    name,
    seed: scenarioSeed,
    fleet,
    workload,
    drain: f.drainS,
    slo: f.slo,
  };
  return { index, name, pods, seed: scenarioSeed, base, process, burstiness, load, meanTurns, tokensPerArrival, summary: words.join('; ') };
}

/** Mean of a log-normal with `median` and p95 = median × tail, clamped at `max` (approximately: the clamp caps the mean). */
function lognormalMean(median: number, tail: number, max: number): number {
  const sigma = Math.log(Math.max(1, tail)) / 1.6448536269514722;
  return Math.min(max, median * Math.exp((sigma * sigma) / 2));
}

/**
 * Arrivals for `perPod` per pod, cut so the run stays within the family's token bound (the
 * whole run: `share` of it for this stage), but never under `minPerPod` per pod.
 */
export function arrivalsFor(f: Family, d: Draft, perPod: number, share: number): number {
  const wanted = perPod * d.pods;
  const affordable = Math.floor((f.maxTokensPerRun * share) / Math.max(1, d.tokensPerArrival));
  return Math.max(Math.min(wanted, affordable), Math.min(wanted, f.minPerPod * d.pods), 1);
}

/**
 * Arrivals for a stage at `rate` that must last `minSeconds`: `n`, or more to fill the time, but
 * never over `calibration.maxPerPod` per pod (nor under `n`).
 */
function sustained(f: Family, d: Draft, n: number, rate: number, minSeconds: number): number {
  const fill = Math.ceil(rate * minSeconds);
  return Math.max(n, Math.min(fill, f.calibration.maxPerPod * d.pods));
}

/**
 * A calibration rung: the draft's fleet and workload, Poisson arrivals at `rate`, `requestsPerPod`
 * arrivals per pod or enough to last `minSeconds` (a sustained load, not a burst).
 */
export function calibrationDoc(f: Family, d: Draft, rate: number, minSeconds = 0): Obj {
  const n = sustained(f, d, arrivalsFor(f, d, f.calibration.requestsPerPod, 1), rate, minSeconds);
  return {
    ...d.base,
    name: `${d.name}-calibration`,
    arrivals: { process: 'poisson', stages: [{ name: 'rung', rate: Math.max(0.001, r3(rate)), duration: dur(n / rate) }] },
    maxRequests: Math.ceil(n * d.meanTurns * 2),
    drain: Math.max(60, f.drainS),
  };
}

/**
 * The final scenario: a warm-up and one measured stage at `load` × `capacity` (requests/s, or
 * sessions/s), each long enough for its share of requests; the measured stage also lasts at least
 * `minServiceTimes` × `serviceMs` (the light-load E2E p50), so a queue can build when load > 100%.
 */
export function scenarioDoc(f: Family, d: Draft, capacity: number, provenance: string, serviceMs = 0): Obj {
  const rate = r3(Math.min(100_000, Math.max(0.001, capacity * d.load)));
  const stages: Obj[] = [];
  const total = f.warmupPerPod + f.measuredPerPod;
  const warm = f.warmupPerPod > 0 ? arrivalsFor(f, d, f.warmupPerPod, f.warmupPerPod / total) : 0;
  const minSeconds = Number.isFinite(serviceMs) ? (f.calibration.minServiceTimes * serviceMs) / 1000 : 0;
  const measured = sustained(f, d, arrivalsFor(f, d, f.measuredPerPod, f.measuredPerPod / total), rate, minSeconds);
  if (warm > 0) stages.push({ name: 'warm-up', rate, duration: dur(warm / rate), warmup: true });
  stages.push({ name: `${Math.round(d.load * 100)}% of capacity`, rate, duration: dur(measured / rate) });
  const arrivals: Obj = { process: d.process };
  if (d.process === 'gamma') arrivals.burstiness = d.burstiness;
  arrivals.stages = stages;
  return {
    name: d.name,
    description: `${d.summary}; ${Math.round(d.load * 100)}% of ${r3(capacity)}/s (least-request capacity). ${provenance}`,
    seed: d.seed,
    fleet: d.base.fleet,
    workload: d.base.workload,
    arrivals,
    drain: f.drainS,
    maxRequests: Math.ceil((warm + measured) * d.meanTurns * 2),
    slo: f.slo,
  };
}

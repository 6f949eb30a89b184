/**
 * `switchboard bench --generate N`: draws N scenarios from a workload family, sets each one's
 * arrival rate from a least-request calibration ladder, writes it as an ordinary scenario file,
 * runs every policy and seed on it, and sums the verdicts (wins, ties, losses per metric and
 * policy, worst losses with the file that replays each).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { isSwitchboardError, sbError } from '../errors.js';
import { familyMarkdown, renderFamilySummary, summarizeFamily, type FamilyEntry, type FamilySummary } from '../loadgen/family-summary.js';
import { writeReport } from '../loadgen/output.js';
import { ProgressBar, RunCounter, formatDuration } from '../loadgen/progress.js';
import { calibrateCapacity } from '../sim/scorecard/calibrate.js';
import { FAMILY_VERSION, calibrationDoc, drawScenario, loadFamily, scenarioDoc, type Family } from '../workload/family.js';
import { buildScenario, type Scenario } from '../workload/scenario.js';
import { twinOf } from '../workload/judge.js';
import { buildReport, type RunReport } from '../loadgen/report.js';
import { buildId } from '../loadgen/build-id.js';
import { calibrationOf, readStored, runsOf, writeRuns, type StoredCalibration, type StoredDraw } from '../loadgen/run-store.js';
import { runJobs, type Job } from './bench-pool.js';
import { checkPolicies } from '../sim/scorecard/policies.js';
import { joinConfigPolicies } from './config-policies.js';
import { renderTails, tallyTail, type TailCensus } from '../sim/scorecard/pick-trace.js';

/** The family shipped with Switchboard. */
export const DEFAULT_FAMILY = fileURLToPath(new URL('../../bench/families/default.yaml', import.meta.url));

export interface GenerateOptions {
  count: number;
  /** Only these draw indices (each < count, ascending); default all. */
  draws?: readonly number[];
  familyFile: string;
  /** Overrides the family's seed. */
  familySeed: number | null;
  policies: readonly string[];
  /** Extra policies from EndpointPickerConfig files (`--config name=path`), run after `policies`. */
  configs?: ReadonlyArray<{ name: string; path: string }>;
  seeds: readonly number[];
  out: string;
  quiet: boolean;
  /** Worker threads for the runs (1: in this thread). */
  jobs?: number;
  /** Writes to stdout (the summary). */
  write?: (s: string) => void;
  /** Writes to stderr (config warnings). */
  warn?: (s: string) => void;
  /** Writes each run's pick trace under <out>/picks. */
  tracePicks?: boolean;
  /**
   * An earlier output folder: runs of built-in policies it holds for the same build and the same
   * scenario file are taken from it instead of run again (`--reuse`).
   */
  reuse?: string;
}

/** One generated scenario on disk. */
export interface Generated {
  file: string;
  /** The file's text as written (a reuse compares it with the stored runs' scenario). */
  text: string;
  scenario: Scenario;
  capacity: number;
  rungs: number;
  /** The calibration as `runs.json` keeps it. */
  calibration: StoredCalibration;
  /** Whether the calibration was taken from a `--reuse` folder instead of run. */
  reused: boolean;
  /** Why a `--reuse` folder's calibration could not be taken, when one was asked for. */
  refused?: string;
}

/** Where a draw's calibration may come from instead of its ladder (`--reuse`). */
export interface CalibrationSource {
  /** A stored calibration for `key` of draw `name`, or the reason there is none. */
  find(name: string, key: string): StoredCalibration | string;
}

/** Validates a generated document; a failure names the family file and the draw. */
function checked(doc: unknown, familyFile: string, name: string): Scenario {
  try {
    return buildScenario(doc);
  } catch (e) {
    if (!isSwitchboardError(e)) throw e;
    throw sbError('SB_ERR_CONFIG', `${familyFile}: generated scenario ${name}`, e.message.replace(/^invalid config: /, ''));
  }
}

/**
 * What a draw's calibration depends on besides the build: its rung scenario at rate 1 (fleet,
 * workload, request count, drain) and the ladder's settings. Equal keys calibrate alike.
 */
export function calibrationKey(family: Family, rung: unknown): string {
  const what = JSON.stringify({ format: FAMILY_VERSION, rung, ladder: family.calibration });
  return createHash('sha256').update(what).digest('hex').slice(0, 16);
}

/**
 * Draws, calibrates and writes scenario `index` of `family` under `dir`; with `source`, a stored
 * calibration of the same draw is taken instead of running the ladder again.
 */
export async function generateScenario(
  family: Family,
  familyFile: string,
  index: number,
  seed: number,
  dir: string,
  source?: CalibrationSource,
): Promise<Generated> {
  const draft = drawScenario(family, index, seed);
  const rung = calibrationDoc(family, draft, 1);
  const key = calibrationKey(family, rung);
  const found = source?.find(draft.name, key);
  const reused = found !== undefined && typeof found !== 'string';
  let cal: StoredCalibration;
  if (reused) cal = found;
  else {
    const c = family.calibration;
    const run = await calibrateCapacity((rate, minSeconds) => checked(calibrationDoc(family, draft, rate, minSeconds), familyFile, draft.name), {
      start: c.startPerPod * checked(rung, familyFile, draft.name).fleet.pods,
      growth: c.growth,
      bisections: c.bisections,
      slowdown: c.slowdown,
      slackMs: c.slackMs,
      tpotSlowdown: c.tpotSlowdown,
      minServiceTimes: c.minServiceTimes,
    });
    cal = { key, capacity: run.capacity, serviceMs: run.serviceMs, rungs: run.rungs.map((r) => ({ rate: r.rate, holds: r.holds })) };
  }
  const provenance = `Drawn from family ${family.name} (format ${FAMILY_VERSION}), seed ${seed}, draw ${index}.`;
  const doc = scenarioDoc(family, draft, cal.capacity, provenance, cal.serviceMs);
  const scenario = checked(doc, familyFile, draft.name);
  const file = join(dir, `${draft.name}.yaml`);
  const header =
    `# Generated by \`switchboard bench --generate\` from ${familyFile} (family ${family.name}, format ${FAMILY_VERSION}, seed ${seed}, draw ${index}).\n` +
    `# Capacity ${cal.capacity.toFixed(3)}/s from a least-request ladder of ${cal.rungs.length} rungs: ${cal.rungs.map((r) => `${r.rate.toFixed(2)}${r.holds ? '' : '✗'}`).join(', ')}${reused ? ' (taken from an earlier run of the same draw and build)' : ''}.\n` +
    `# Replay: switchboard bench --scenario ${file}\n`;
  const text = header + stringify(doc, { lineWidth: 0 });
  writeFileSync(file, text);
  return { file, text, scenario, capacity: cal.capacity, rungs: cal.rungs.length, calibration: cal, reused, refused: typeof found === 'string' ? found : undefined };
}

/** The whole generated-family run; returns the summary. */
export async function runGenerated(o: GenerateOptions): Promise<FamilySummary> {
  const write = o.write ?? ((s: string) => void process.stdout.write(s));
  const warn = o.warn ?? ((s: string) => void process.stderr.write(s));
  const family = loadFamily(o.familyFile);
  // Config policies are checked (and registered for in-thread runs) before any calibration.
  const policies = [...o.policies];
  joinConfigPolicies(o.configs ?? [], policies, warn);
  const configPaths = new Map((o.configs ?? []).map((c) => [c.name, c.path]));
  // An unknown name fails here, not after minutes of calibration and once per run.
  checkPolicies(policies);
  const seed = o.familySeed ?? family.seed;
  const t0 = performance.now();
  const dir = join(o.out, 'scenarios');
  mkdirSync(dir, { recursive: true });
  const bar = o.quiet ? null : new ProgressBar();
  const generated: Generated[] = [];
  // A draw depends only on the family, its seed and its index, so a subset replays the same files.
  const draws = o.draws ?? Array.from({ length: o.count }, (_, i) => i);
  const cal = new RunCounter(draws.length);
  const build = buildId();
  // With --reuse, a draw's calibration comes from the earlier output when it was made by this
  // build for the same drawn scenario; otherwise the ladder runs (and the reason is told once).
  // Each draw's runs.json is read once, for its calibration here and its runs below.
  const reuseDir = o.reuse;
  const stored = new Map<string, StoredDraw>();
  const source: CalibrationSource | undefined =
    reuseDir === undefined
      ? undefined
      : {
          find: (name, key) => {
            const draw = readStored(join(reuseDir, name), build);
            stored.set(name, draw);
            const r = calibrationOf(draw, key);
            return 'calibration' in r ? r.calibration : r.reason;
          },
        };
  const recalibrated: string[] = [];
  for (const i of draws) {
    bar?.update(`calibrating ${cal.label()}`, 0, cal.eta());
    const g = await generateScenario(family, o.familyFile, i, seed, dir, source);
    if (g.refused !== undefined) recalibrated.push(`${g.scenario.name}: ${g.refused}`);
    generated.push(g);
    cal.finish();
    bar?.done(`calibrating ${generated.length}/${draws.length} · ${g.scenario.name}`, `capacity ${g.capacity.toFixed(1)}/s (${g.rungs} rungs${g.reused ? ', reused' : ''}), ${cal.eta()}`);
  }
  const calReused = generated.filter((g) => g.reused).length;
  if (reuseDir !== undefined) refusals(warn, reuseDir, recalibrated, generated.length, 'calibrated again');
  // Seed-major, policy-minor within a scenario: the order `switchboard bench --scenario` uses.
  // A twin of a config policy (`NAME@K`) runs that config: worker threads register it under NAME.
  const configOf = (policy: string): string | undefined => {
    const original = twinOf(policy);
    return configPaths.has(policy) ? policy : original !== null && configPaths.has(original) ? original : undefined;
  };
  const jobs: Job[] = generated.flatMap((g) =>
    o.seeds.flatMap((seed) =>
      policies.map((policy) => {
        const configName = configOf(policy);
        return { file: g.file, scenario: g.scenario, policy, seed, configPath: configName === undefined ? undefined : configPaths.get(configName), configName };
      }),
    ),
  );
  const kept = o.reuse === undefined ? new Map<number, RunReport>() : reusable(o.reuse, stored, generated, jobs, configOf, warn);
  // Traced: each run's TTFT tail joins its policy's census, printed after the summary.
  const tails = new Map<string, TailCensus>();
  const picks = o.tracePicks === true ? { dir: join(o.out, 'picks'), onTail: (p: string, c: TailCensus) => tallyTail(tails, p, c) } : null;
  // A reused run is not traced again: its pick trace, if any, is in the folder it came from.
  const todo = jobs.filter((_, i) => !kept.has(i));
  const counter = new RunCounter(todo.length);
  const ran = await runJobs(todo, o.jobs ?? 1, bar, counter, picks);
  let next = 0;
  const runs = jobs.map((_, i) => kept.get(i) ?? ran[next++]);
  const entries: FamilyEntry[] = [];
  const per = o.seeds.length * policies.length;
  generated.forEach((g, i) => {
    const own = runs.slice(i * per, (i + 1) * per);
    const report = buildReport('bench', g.scenario, own, null, true);
    writeReport(join(o.out, g.scenario.name), report);
    writeRuns(join(o.out, g.scenario.name), build, g.text, own, g.calibration);
    const rel = relative(process.cwd(), g.file);
    entries.push({ file: rel === '' || rel.startsWith('..') ? g.file : rel, report });
  });
  const summary = summarizeFamily(family.name, entries, performance.now() - t0);
  const md = familyMarkdown(summary);
  writeFileSync(join(o.out, 'summary.md'), md);
  writeFileSync(join(o.out, 'summary.json'), JSON.stringify(summary, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2));
  // Censuses in the policies' order, not the order worker threads finished in.
  const traced = picks === null ? '' : `pick traces under ${picks.dir}\n${renderTails(new Map(policies.flatMap((p) => (tails.has(p) ? [[p, tails.get(p) as TailCensus] as const] : []))))}`;
  write(`${renderFamilySummary(summary)}\nwall time ${formatDuration(summary.wallMs)} (${generated.length} calibrations, ${counter.total} runs on ${Math.max(1, o.jobs ?? 1)} thread(s)${o.reuse === undefined ? '' : `, ${calReused} calibrations and ${kept.size} runs reused from ${o.reuse}`})\nwrote ${join(o.out, 'summary.md')}\nwrote ${join(o.out, 'summary.json')}\nscenario files and reports under ${o.out}\n${traced}`);
  return summary;
}

/**
 * The jobs (by index) whose runs `dir` already holds: built-in policies only (a config file may
 * have changed under the same name), for this build and the same scenario text. Each draw that
 * cannot be reused is named once on `warn` with the reason.
 */
function reusable(
  dir: string,
  stored: ReadonlyMap<string, StoredDraw>,
  generated: readonly Generated[],
  jobs: readonly Job[],
  configOf: (policy: string) => string | undefined,
  warn: (s: string) => void,
): Map<number, RunReport> {
  const byDraw = new Map<string, RunReport[]>();
  const refused: string[] = [];
  for (const g of generated) {
    const r = runsOf(stored.get(g.scenario.name) ?? { reason: 'not read' }, g.text);
    if ('runs' in r) byDraw.set(g.scenario.name, r.runs);
    else refused.push(`${g.scenario.name}: ${r.reason}`);
  }
  refusals(warn, dir, refused, generated.length, 'run again');
  const kept = new Map<number, RunReport>();
  jobs.forEach((j, i) => {
    if (configOf(j.policy) !== undefined) return;
    const run = byDraw.get(j.scenario.name)?.find((r) => r.policy === j.policy && r.seed === j.seed);
    if (run !== undefined) kept.set(i, run);
  });
  return kept;
}

/** Names, once, the draws a reuse could not serve (the first three, with their reasons). */
function refusals(warn: (s: string) => void, dir: string, refused: readonly string[], total: number, what: string): void {
  if (refused.length > 0) warn(`--reuse ${dir}: ${refused.length} of ${total} draws ${what} (${refused.slice(0, 3).join('; ')}${refused.length > 3 ? '; …' : ''})\n`);
}

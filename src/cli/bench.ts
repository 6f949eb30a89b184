/**
 * `switchboard bench`: the virtual-time scorecard. Runs a scenario once per policy and seed on
 * simulated pods, then prints the summary and writes report.json and report.html.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, extname, join, relative } from 'node:path';
import { sbError } from '../errors.js';
import { configEntries, joinConfigPolicies } from './config-policies.js';
import { writeReport } from '../loadgen/output.js';
import { ProgressBar } from '../loadgen/progress.js';
import { scenarioWithTrace } from './trace-flags.js';
import { renderTable } from '../loadgen/table.js';
import { defaultPolicies } from '../sim/scorecard/policies.js';
import { DEFAULT_FAMILY, runGenerated } from './bench-generate.js';
import { benchScenario } from './bench-run.js';
import type { KvEventDelivery } from '../sim/scorecard/runner.js';
import { keepRun, renderTails, tallyTail, type PickTraceLine, type TailCensus } from '../sim/scorecard/pick-trace.js';
import { formatHelp, list, num, parseFlags, rejectPositionals, str, type FlagSpec } from './flags.js';

/** Flags of `switchboard bench`. */
export const BENCH_FLAGS: FlagSpec[] = [
  { name: 'scenario', type: 'string', default: '', help: 'scenario YAML (see bench/scenarios/README.md); required unless --trace or --generate' },
  { name: 'trace', type: 'string', default: '', help: "JSONL request trace to replay instead of the scenario's workload (docs/trace-replay.md)" },
  { name: 'trace-speed', type: 'float', min: 0.001, default: 1, help: 'replay the trace this many times as fast as recorded' },
  {
    name: 'generate',
    type: 'int',
    default: 0,
    min: 0,
    max: 10_000,
    help: 'draw N scenarios from --family, calibrate each, write them as scenario files and judge every policy on them (see bench/families/README.md)',
  },
  { name: 'family', type: 'string', default: '', help: 'workload family YAML for --generate (default bench/families/default.yaml)' },
  {
    name: 'jobs',
    type: 'int',
    default: 0,
    min: 0,
    max: 64,
    help: 'worker threads for the runs of --generate (0: the CPU count, at most 2)',
  },
  { name: 'family-seed', type: 'int', default: 0, min: 0, max: 2 ** 32 - 1, help: "seed of the family's draws (default: the family's seed)" },
  {
    name: 'draws',
    type: 'list',
    default: [],
    help: 'run only these draws of the N (indices from 0, e.g. 22,30,49: the draws a summary lists as losses); each is the same scenario as in the full run',
  },
  {
    name: 'reuse',
    type: 'string',
    default: '',
    help: "an earlier --generate output folder: runs of built-in policies it holds for this build and the same scenario files are taken from it, not run again (e.g. the references while trying configs)",
  },
  {
    name: 'policies',
    type: 'list',
    default: [],
    help: "policy names (default: the scenario's list, else all): round-robin, random, least-request, go-epp, switchboard; NAME@K is NAME's twin with its own tie-break stream (the judge's noise floor)",
  },
  { name: 'config', type: 'list', default: [], help: 'extra policies from EndpointPickerConfig files, "name=path,..." (added to the comparison)' },
  { name: 'seeds', type: 'list', default: [], help: "seeds (default: the scenario's seed)" },
  {
    name: 'replicas',
    type: 'list',
    default: ['1'],
    help: 'picker replicas per policy, e.g. 1,2,4: N independent routers behind a round-robin Service; runs are named policy×N',
  },
  { name: 'out', type: 'string', default: '', help: 'where report.json and report.html go (default bench/out/<scenario>)' },
  { name: 'quiet', type: 'bool', default: false, help: 'no progress bar' },
  {
    name: 'trace-picks',
    type: 'bool',
    default: false,
    help: 'also write one JSON line per request (pod, cost, and the term that moved each Switchboard pick) to <out>/picks/<scenario>/<policy>.seed-<N>.jsonl',
  },
  { name: 'kv-events-delay', type: 'duration', default: 5, help: 'KV-event delivery delay from engine to picker (switchboard-precise)' },
  { name: 'kv-events-loss', type: 'float', min: 0, max: 1, default: 0, help: 'fraction of KV-event batches lost on the way (switchboard-precise; no replay)' },
];

const HELP = formatHelp('switchboard bench --scenario FILE [flags]  |  switchboard bench --generate N [--family FILE] [flags]', 'Runs a scenario in virtual time on simulated vLLM pods, once per policy and seed.', BENCH_FLAGS);

/** Parsed `switchboard bench` flags. */
export interface BenchFlags {
  /** Scenario file, or '' for a trace alone. */
  scenario: string;
  /** Trace file, or null. */
  trace: string | null;
  traceSpeed: number;
  /** Scenarios to generate (0: run `scenario`). */
  generate: number;
  family: string | null;
  familySeed: number | null;
  /** Worker threads for --generate (0: auto). */
  jobs: number;
  /** Draw indices to run with --generate (null: all N). */
  draws: number[] | null;
  /** An earlier --generate output whose runs may be reused (null: none). */
  reuse: string | null;
  policies: string[] | null;
  /** Extra policies from config files: name -> path. */
  configs: Array<{ name: string; path: string }>;
  seeds: number[] | null;
  /** Replica counts to run each policy with (default [1]). */
  replicas: number[];
  out: string | null;
  quiet: boolean;
  /** Write a pick trace per run under <out>/picks. */
  tracePicks: boolean;
  /** KV-event delivery to policies that subscribe. */
  kvEvents: KvEventDelivery;
}

/** Parses `switchboard bench` flags; throws SB_ERR_FLAG on bad input. */
export function parseBenchFlags(argv: string[]): BenchFlags | 'help' {
  const flags = parseFlags(BENCH_FLAGS, argv);
  if (flags.help) return 'help';
  rejectPositionals(flags);
  const scenario = str(flags, 'scenario');
  const trace = str(flags, 'trace');
  const generate = num(flags, 'generate');
  if (scenario === '' && trace === '' && generate === 0) throw sbError('SB_ERR_FLAG', 'scenario', 'is required (or --trace, or --generate N)');
  if (scenario !== '' && generate > 0) throw sbError('SB_ERR_FLAG', 'generate', 'draws its own scenarios; drop --scenario');
  for (const f of ['family', 'family-seed', 'jobs', 'draws', 'reuse']) if (generate === 0 && flags.given.has(f)) throw sbError('SB_ERR_FLAG', f, 'only applies with --generate N');
  return {
    scenario,
    trace: trace === '' ? null : trace,
    traceSpeed: flags.values['trace-speed'] as number,
    generate,
    family: str(flags, 'family') === '' ? null : str(flags, 'family'),
    familySeed: flags.given.has('family-seed') ? num(flags, 'family-seed') : null,
    jobs: num(flags, 'jobs'),
    draws: drawList(list(flags, 'draws'), generate),
    reuse: reuseDir(str(flags, 'reuse')),
    policies: list(flags, 'policies'),
    configs: configEntries(list(flags, 'config') ?? []),
    seeds: seedList(list(flags, 'seeds')),
    replicas: intList(list(flags, 'replicas') ?? ['1'], 'replicas', 1, 64, 'a replica count 1..64'),
    out: str(flags, 'out') === '' ? null : str(flags, 'out'),
    quiet: flags.values.quiet === true,
    tracePicks: flags.values['trace-picks'] === true,
    kvEvents: { delayMs: Number(flags.values['kv-events-delay']), loss: Number(flags.values['kv-events-loss']) },
  };
}

/** The --reuse folder, which must exist; null when not given. */
function reuseDir(dir: string): string | null {
  if (dir === '') return null;
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory() !== true) throw sbError('SB_ERR_FLAG', 'reuse', `not a folder: ${dir}`);
  return dir;
}

/** Whole numbers in [min, max] from a list flag; anything else names the flag and the entry. */
function intList(l: string[], flag: string, min: number, max: number, what: string): number[] {
  return l.map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min || n > max) throw sbError('SB_ERR_FLAG', flag, `not ${what}: "${s}"`);
    return n;
  });
}

/** Draw indices below `count`, each once, ascending. */
function drawList(l: string[] | null, count: number): number[] | null {
  if (l === null) return null;
  return [...new Set(intList(l, 'draws', 0, count - 1, `a draw index 0..${count - 1}`))].sort((a, b) => a - b);
}

function seedList(l: string[] | null): number[] | null {
  return l === null ? null : intList(l, 'seeds', 0, 2 ** 32 - 1, 'a seed');
}

export { benchScenario };

/** Entry point of `switchboard bench`; returns the exit code. */
export async function runBench(argv: string[]): Promise<number> {
  const flags = parseBenchFlags(argv);
  if (flags === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (flags.generate > 0) {
    await runGenerated({
      count: flags.generate,
      draws: flags.draws ?? undefined,
      familyFile: flags.family ?? relativeDefault(),
      familySeed: flags.familySeed,
      policies: flags.policies ?? defaultPolicies(),
      configs: flags.configs,
      seeds: flags.seeds ?? [1, 2, 3],
      out: flags.out ?? join('bench', 'out', `family-${basename(flags.family ?? DEFAULT_FAMILY, extname(flags.family ?? DEFAULT_FAMILY))}`),
      quiet: flags.quiet,
      jobs: flags.jobs === 0 ? Math.min(2, availableParallelism()) : flags.jobs,
      tracePicks: flags.tracePicks,
      reuse: flags.reuse ?? undefined,
    });
    return 0;
  }
  const scenario = scenarioWithTrace(flags.scenario, flags.trace, flags.traceSpeed);
  const policies = [...(flags.policies ?? (scenario.policies.length > 0 ? scenario.policies : defaultPolicies()))];
  // Config files named by the scenario, then by --config, join the comparison.
  joinConfigPolicies([...scenario.configs, ...flags.configs], policies, (w) => void process.stderr.write(w));
  const seeds = flags.seeds ?? [scenario.seed];
  const stem = flags.scenario !== '' ? flags.scenario : (flags.trace as string);
  const out = flags.out ?? join('bench', 'out', basename(stem, extname(stem)));
  const picks = flags.tracePicks ? join(out, 'picks') : null;
  // Traced: each run's lines go to a file, and its TTFT tail into the policy's census.
  const tails = new Map<string, TailCensus>();
  const onPicks =
    picks === null
      ? null
      : (policy: string, seed: number, lines: PickTraceLine[]): void => {
          tallyTail(tails, policy, keepRun(picks, scenario, policy, seed, lines));
        };
  const report = await benchScenario(scenario, policies, seeds, flags.quiet ? null : new ProgressBar(), flags.replicas, flags.kvEvents, undefined, onPicks);
  const files = writeReport(out, report);
  const tail = picks === null ? '' : `pick traces under ${picks}\n${renderTails(tails)}`;
  process.stdout.write(`${renderTable(report)}\nwrote ${files.json}\nwrote ${files.html}\n${tail}`);
  return 0;
}

/** The default family's path, relative to the working directory when it is inside it (shorter file names in reports). */
function relativeDefault(): string {
  const r = relative(process.cwd(), DEFAULT_FAMILY);
  return r.startsWith('..') ? DEFAULT_FAMILY : r;
}

/**
 * `switchboard bench`: the virtual-time scorecard. Runs a scenario once per policy and seed on
 * simulated pods, then prints the summary and writes report.json and report.html.
 */
import { basename, extname, join } from 'node:path';
import { sbError } from '../errors.js';
import { writeReport } from '../loadgen/output.js';
import { ProgressBar } from '../loadgen/progress.js';
import { buildReport, buildRunReport, type Report, type RunReport } from '../loadgen/report.js';
import { type Scenario } from '../workload/scenario.js';
import { scenarioWithTrace } from './trace-flags.js';
import { renderTable } from '../loadgen/table.js';
import { configFilePolicy } from '../sim/scorecard/director-router.js';
import { defaultPolicies, policyFactory, registerPolicy } from '../sim/scorecard/policies.js';
import { replicated } from '../sim/scorecard/replicas.js';
import { runScorecard, type KvEventDelivery } from '../sim/scorecard/runner.js';
import { formatHelp, list, parseFlags, rejectPositionals, str, type FlagSpec } from './flags.js';

/** Flags of `switchboard bench`. */
export const BENCH_FLAGS: FlagSpec[] = [
  { name: 'scenario', type: 'string', default: '', help: 'scenario YAML (see bench/scenarios/README.md); required unless --trace' },
  { name: 'trace', type: 'string', default: '', help: "JSONL request trace to replay instead of the scenario's workload (docs/trace-replay.md)" },
  { name: 'trace-speed', type: 'float', min: 0.001, default: 1, help: 'replay the trace this many times as fast as recorded' },
  {
    name: 'policies',
    type: 'list',
    default: [],
    help: "policy names (default: the scenario's list, else all): round-robin, random, least-request, go-epp, switchboard",
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
  { name: 'kv-events-delay', type: 'duration', default: 5, help: 'KV-event delivery delay from engine to picker (switchboard-precise)' },
  { name: 'kv-events-loss', type: 'float', min: 0, max: 1, default: 0, help: 'fraction of KV-event batches lost on the way (switchboard-precise; no replay)' },
];

const HELP = formatHelp('switchboard bench --scenario FILE [flags]', 'Runs a scenario in virtual time on simulated vLLM pods, once per policy and seed.', BENCH_FLAGS);

/** Parsed `switchboard bench` flags. */
export interface BenchFlags {
  /** Scenario file, or '' for a trace alone. */
  scenario: string;
  /** Trace file, or null. */
  trace: string | null;
  traceSpeed: number;
  policies: string[] | null;
  /** Extra policies from config files: name -> path. */
  configs: Array<{ name: string; path: string }>;
  seeds: number[] | null;
  /** Replica counts to run each policy with (default [1]). */
  replicas: number[];
  out: string | null;
  quiet: boolean;
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
  if (scenario === '' && trace === '') throw sbError('SB_ERR_FLAG', 'scenario', 'is required (or --trace)');
  return {
    scenario,
    trace: trace === '' ? null : trace,
    traceSpeed: flags.values['trace-speed'] as number,
    policies: list(flags, 'policies'),
    configs: (list(flags, 'config') ?? []).map((entry) => {
      const eq = entry.indexOf('=');
      const path = eq < 0 ? entry : entry.slice(eq + 1);
      const name = eq < 0 ? basename(entry, extname(entry)) : entry.slice(0, eq);
      if (name === '' || path === '') throw sbError('SB_ERR_FLAG', 'config', `expected name=path, got "${entry}"`);
      return { name, path };
    }),
    seeds: seedList(list(flags, 'seeds')),
    replicas: (list(flags, 'replicas') ?? ['1']).map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1 || n > 64) throw sbError('SB_ERR_FLAG', 'replicas', `not a replica count 1..64: "${s}"`);
      return n;
    }),
    out: str(flags, 'out') === '' ? null : str(flags, 'out'),
    quiet: flags.values.quiet === true,
    kvEvents: { delayMs: Number(flags.values['kv-events-delay']), loss: Number(flags.values['kv-events-loss']) },
  };
}

function seedList(l: string[] | null): number[] | null {
  if (l === null) return null;
  return l.map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw sbError('SB_ERR_FLAG', 'seeds', `not a seed: "${s}"`);
    return n;
  });
}

/** Runs every (policy, seed) of `scenario` and builds the report. */
export async function benchScenario(
  scenario: Scenario,
  policies: readonly string[],
  seeds: readonly number[],
  progress: ProgressBar | null,
  replicas: readonly number[] = [1],
  kvEvents: Partial<KvEventDelivery> = {},
): Promise<Report> {
  const factories = policies.flatMap((p) => replicas.map((n) => [n === 1 ? p : `${p}×${n}`, replicated(policyFactory(p), n)] as const));
  const runs: RunReport[] = [];
  for (const seed of seeds) {
    for (const [name, factory] of factories) {
      const label = `${scenario.name} · ${name} · seed ${seed}`;
      const t0 = performance.now();
      const run = await runScorecard(scenario, factory, {
        seed,
        kvEvents,
        onProgress: progress === null ? undefined : (f) => progress.update(label, f),
      });
      const wallMs = performance.now() - t0;
      progress?.done(label, `${run.records.length} requests, ${(wallMs / 1000).toFixed(1)} s`);
      runs.push(buildRunReport(scenario, name, seed, run.records, run.stageCounters, scenario.fleet.pods, wallMs));
    }
  }
  return buildReport('bench', scenario, runs, null, true);
}

/** Entry point of `switchboard bench`; returns the exit code. */
export async function runBench(argv: string[]): Promise<number> {
  const flags = parseBenchFlags(argv);
  if (flags === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const scenario = scenarioWithTrace(flags.scenario, flags.trace, flags.traceSpeed);
  const policies = [...(flags.policies ?? (scenario.policies.length > 0 ? scenario.policies : defaultPolicies()))];
  // Config files named by the scenario, then by --config, join the comparison.
  for (const c of [...scenario.configs, ...flags.configs]) {
    registerPolicy(c.name, configFilePolicy(c.name, c.path));
    if (!policies.includes(c.name)) policies.push(c.name);
  }
  const seeds = flags.seeds ?? [scenario.seed];
  const report = await benchScenario(scenario, policies, seeds, flags.quiet ? null : new ProgressBar(), flags.replicas, flags.kvEvents);
  const stem = flags.scenario !== '' ? flags.scenario : (flags.trace as string);
  const out = flags.out ?? join('bench', 'out', basename(stem, extname(stem)));
  const files = writeReport(out, report);
  process.stdout.write(`${renderTable(report)}\nwrote ${files.json}\nwrote ${files.html}\n`);
  return 0;
}

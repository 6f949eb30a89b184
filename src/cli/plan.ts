/**
 * `switchboard plan`: capacity planning on the virtual-time simulator. For each policy, the
 * smallest fleet that meets an SLO at a scenario's load and the highest load per pod that still
 * meets it; then HPA targets on the exported pool gauges, an HPA manifest, plan.json and a
 * self-contained plan.html with the latency-vs-load curves.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { sbError } from '../errors.js';
import { configEntries, joinConfigPolicies } from './config-policies.js';
import { runPlan, type PlanOptions } from '../sim/planner/plan.js';
import { renderPlanHtml, type PlanReport } from '../sim/planner/plan-report.js';
import { parseSloSpec } from '../sim/planner/slo-spec.js';
import type { HpaFlavor } from '../sim/planner/hpa.js';
import { checkPolicies, defaultPolicies } from '../sim/scorecard/policies.js';
import { formatHelp, list, num, parseFlags, rejectPositionals, str, type FlagSpec } from './flags.js';
import { scenarioWithTrace } from './trace-flags.js';

/** Flags of `switchboard plan`. */
export const PLAN_FLAGS: FlagSpec[] = [
  { name: 'scenario', type: 'string', default: '', help: 'scenario YAML: fleet profile, workload and the load to plan for; required unless --trace' },
  { name: 'trace', type: 'string', default: '', help: 'JSONL request trace to plan for instead of the scenario workload' },
  { name: 'slo', type: 'string', default: '', help: 'latency targets, e.g. ttft-p90=2s,ntpot-p90=60ms[,success=99%]; required' },
  { name: 'policies', type: 'list', default: [], help: "policies to compare (default: the scenario's list, else all)" },
  { name: 'config', type: 'list', default: [], help: 'extra policies from EndpointPickerConfig files, "name=path,..."' },
  { name: 'max-pods', type: 'int', min: 1, max: 1024, default: 16, help: 'largest fleet considered' },
  { name: 'tolerance', type: 'float', min: 0.005, max: 0.5, default: 0.05, help: 'relative precision of the load bisection' },
  { name: 'seed', type: 'int', min: 0, default: null, help: "seed of the search probes (default: the scenario's)" },
  { name: 'confirm-seeds', type: 'int', min: 0, max: 8, default: 1, help: 'extra seeds every boundary must also pass' },
  { name: 'max-load', type: 'float', min: 1, max: 1024, default: 64, help: "largest multiple of the scenario's load tried" },
  { name: 'headroom', type: 'float', min: 0, max: 0.9, default: 0.2, help: 'HPA targets sit this fraction below the gauge levels at the SLO boundary' },
  { name: 'pool', type: 'string', default: 'vllm-llama3-8b', help: 'InferencePool name the HPA selects the gauges by' },
  { name: 'deployment', type: 'string', default: '', help: 'Deployment the HPA scales (default: the pool name)' },
  { name: 'hpa-flavor', type: 'enum', values: ['prometheus-adapter', 'gke'], default: 'prometheus-adapter', help: 'external metric names: prometheus-adapter or GKE Custom Metrics Stackdriver Adapter' },
  { name: 'brute-force', type: 'bool', default: false, help: 'also sweep every fleet size and load step (to check the bisection; slow)' },
  { name: 'out', type: 'string', default: '', help: 'where plan.json, plan.html and hpa.yaml go (default bench/out/plan-<scenario>)' },
  { name: 'quiet', type: 'bool', default: false, help: 'no per-probe lines' },
];

const HELP = formatHelp(
  'switchboard plan --scenario FILE --slo ttft-p90=2s,ntpot-p90=60ms [flags]',
  'Finds, per policy, the smallest fleet meeting the SLO at the scenario load and the highest\nload per pod that still meets it (bisection on the virtual-time simulator), and recommends HPA targets.',
  PLAN_FLAGS,
);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Entry point of `switchboard plan`; returns the exit code. */
export async function runPlanCommand(argv: string[]): Promise<number> {
  const flags = parseFlags(PLAN_FLAGS, argv);
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  rejectPositionals(flags);
  const scenarioFile = str(flags, 'scenario');
  const traceFile = str(flags, 'trace');
  if (scenarioFile === '' && traceFile === '') throw sbError('SB_ERR_FLAG', 'scenario', 'is required (or --trace)');
  if (str(flags, 'slo') === '') throw sbError('SB_ERR_FLAG', 'slo', 'is required, e.g. --slo ttft-p90=2s,ntpot-p90=60ms');
  const slo = parseSloSpec(str(flags, 'slo'));
  const pool = str(flags, 'pool');
  const deployment = str(flags, 'deployment') === '' ? pool : str(flags, 'deployment');
  for (const [k, v] of [['pool', pool], ['deployment', deployment]] as const) {
    if (!DNS_LABEL.test(v)) throw sbError('SB_ERR_FLAG', k, `"${v}" is not a Kubernetes name (lowercase letters, digits and "-", at most 63)`);
  }
  const scenario = scenarioWithTrace(scenarioFile, traceFile === '' ? null : traceFile, 1);
  const policies = [...(list(flags, 'policies') ?? (scenario.policies.length > 0 ? scenario.policies : defaultPolicies()))];
  joinConfigPolicies([...scenario.configs, ...configEntries(list(flags, 'config') ?? [])], policies, (w) => void process.stderr.write(w));
  checkPolicies(policies);
  const seed = flags.given.has('seed') ? num(flags, 'seed') : scenario.seed;
  const quiet = flags.values.quiet === true;
  const opts: PlanOptions = {
    slo,
    policies,
    maxPods: num(flags, 'max-pods'),
    tolerance: num(flags, 'tolerance'),
    seed,
    confirmSeeds: Array.from({ length: num(flags, 'confirm-seeds') }, (_, i) => seed + 1 + i),
    maxFactor: num(flags, 'max-load'),
    headroom: num(flags, 'headroom'),
    pool,
    deployment,
    flavor: str(flags, 'hpa-flavor') as HpaFlavor,
    bruteForce: flags.values['brute-force'] === true,
    onProbe: quiet
      ? undefined
      : (p) =>
          process.stderr.write(
            `${p.policy}: ${p.pods} pods × load ${p.factor} (seed ${p.seed}): ${p.ratePerPod.toFixed(2)} req/s/pod, ${slo.targets.map((t, i) => `${t.label} ${p.values[i].toFixed(1)} ms`).join(', ')}, success ${(p.successRate * 100).toFixed(1)}% → ${p.pass ? 'meets' : 'misses'} (${(p.wallMs / 1000).toFixed(2)} s)\n`,
          ),
  };
  const report = await runPlan(scenario, opts);
  const stem = scenarioFile !== '' ? scenarioFile : traceFile;
  const out = str(flags, 'out') === '' ? join('bench', 'out', `plan-${basename(stem, extname(stem))}`) : str(flags, 'out');
  const files = writePlan(out, report);
  process.stdout.write(`${renderPlanSummary(report)}\n${files.map((f) => `wrote ${f}`).join('\n')}\n`);
  return 0;
}

/** Writes plan.json, plan.html and (when there is one) hpa.yaml into `dir`. */
export function writePlan(dir: string, report: PlanReport): string[] {
  mkdirSync(dir, { recursive: true });
  const files = [join(dir, 'plan.json'), join(dir, 'plan.html')];
  writeFileSync(files[0], JSON.stringify(report, null, 2));
  writeFileSync(files[1], renderPlanHtml(report));
  if (report.manifest !== null) {
    files.push(join(dir, 'hpa.yaml'));
    writeFileSync(files[2], report.manifest);
  }
  return files;
}

/** The terminal summary: one line per policy, the recommendation, the brute-force check. */
export function renderPlanSummary(r: PlanReport): string {
  const lines = [`plan for ${r.scenario.name} at ${r.scenario.ratePerS.toFixed(2)} req/s, SLO ${r.slo.text}`];
  for (const p of r.plans) {
    const pods = p.pods === null ? `more than ${r.maxPods} pods` : `${p.pods} pods${p.podsConfirmed ? '' : ' (unconfirmed)'}`;
    const load =
      p.maxRatePerPod === null ? 'no load meets the SLO' : `up to ${p.maxRatePerPod.toFixed(2)} req/s per pod (${p.maxFactor}× load${p.bounded ? '' : ', or more'})`;
    lines.push(`  ${p.policy.padEnd(14)} ${pods}; ${load}; ${p.probes.length} probes in ${(p.wallMs / 1000).toFixed(1)} s`);
  }
  for (const s of r.sweeps) {
    const p = r.plans.find((x) => x.policy === s.policy);
    lines.push(
      `  brute force ${s.policy}: ${s.pods ?? '-'} pods (bisection ${p?.searchedPods ?? '-'}, confirmed ${p?.pods ?? '-'}), ${s.maxFactor ?? '-'}× load on ${s.loadPods} pods (bisection ${p?.searchedFactor ?? '-'}, confirmed ${p?.maxFactor ?? '-'}); ${s.probes.length} probes in ${(s.wallMs / 1000).toFixed(1)} s vs ${p?.probes.length ?? '-'} probes in ${((p?.wallMs ?? 0) / 1000).toFixed(1)} s`,
    );
  }
  const rec = r.recommended;
  if (rec === null) lines.push('no policy meets the SLO within --max-pods');
  else {
    const targets = [
      rec.queueTarget === null ? null : `inference_pool_average_queue_size ${rec.queueTarget}`,
      rec.kvTarget === null ? null : `inference_pool_average_kv_cache_utilization ${rec.kvTarget}`,
    ].filter((x) => x !== null);
    lines.push(`recommended: ${rec.policy}, ${rec.minReplicas} pods; HPA on ${targets.length === 0 ? 'no gauge (none rises before the SLO breaks)' : targets.join(' and ')}`);
    for (const n of rec.notes) lines.push(`  note: ${n}`);
  }
  return lines.join('\n');
}

/**
 * `switchboard load`: sends a scenario's workload in real time to any OpenAI-compatible URL
 * and reports the same metrics as the scorecard.
 */
import { basename, extname, join } from 'node:path';
import { sbError } from '../errors.js';
import { runLoadScenario, type LoadOptions } from '../loadgen/http-runner.js';
import { writeReport } from '../loadgen/output.js';
import { ProgressBar } from '../loadgen/progress.js';
import { buildReport, buildRunReport } from '../loadgen/report.js';
import { scenarioWithTrace } from './trace-flags.js';
import { renderTable } from '../loadgen/table.js';
import { formatHelp, givenNum, givenStr, parseFlags, rejectPositionals, type FlagSpec } from './flags.js';

/** Flags of `switchboard load`. */
export const LOAD_FLAGS: FlagSpec[] = [
  { name: 'scenario', type: 'string', default: '', help: 'scenario YAML (its fleet section is ignored); required unless --trace' },
  { name: 'trace', type: 'string', default: '', help: "JSONL request trace to replay instead of the scenario's workload (docs/trace-replay.md)" },
  { name: 'trace-speed', type: 'float', min: 0.001, default: 1, help: 'replay the trace this many times as fast as recorded' },
  { name: 'url', type: 'string', default: '', help: 'base URL, e.g. http://127.0.0.1:8080; required' },
  { name: 'model', type: 'string', default: '', help: 'base model (default: discovered from /v1/models)' },
  { name: 'api-key', type: 'string', default: '', help: 'sent as "authorization: Bearer KEY"' },
  { name: 'max-requests', type: 'int', min: 1, default: null, help: 'stop after this many requests' },
  { name: 'duration', type: 'float', min: 0.001, default: null, help: 'cap the arrival window at this many seconds' },
  { name: 'drain', type: 'float', min: 0, default: null, help: 'wait at most this many seconds for requests in flight afterwards' },
  { name: 'concurrency', type: 'int', min: 1, default: 256, help: 'most requests in flight' },
  { name: 'pod-header', type: 'string', default: '', help: 'response header naming the serving endpoint (per-pod imbalance)' },
  { name: 'label', type: 'string', default: 'target', help: 'policy label in the report' },
  { name: 'out', type: 'string', default: '', help: 'where report.json and report.html go (default bench/out/load-<scenario>)' },
  { name: 'quiet', type: 'bool', default: false, help: 'no progress bar' },
];

const HELP = formatHelp(
  'switchboard load --scenario FILE --url URL [flags]',
  "Sends a scenario's requests (or a trace's, with --trace) in real time to an OpenAI-compatible\nserver and reports TTFT, TPOT, NTPOT, ITL, E2E, throughput, success, goodput and prefix-cache hits.",
  LOAD_FLAGS,
);

/** Entry point of `switchboard load`; returns the exit code. */
export async function runLoad(argv: string[]): Promise<number> {
  const flags = parseFlags(LOAD_FLAGS, argv);
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  rejectPositionals(flags);
  const str = (k: string): string | undefined => givenStr(flags, k);
  const num = (k: string): number | undefined => givenNum(flags, k);
  const scenarioFile = str('scenario') ?? '';
  const traceFile = str('trace') ?? '';
  const url = str('url');
  if (scenarioFile === '' && traceFile === '') throw sbError('SB_ERR_FLAG', 'scenario', 'is required (or --trace)');
  if (url === undefined || !/^https?:\/\//.test(url)) throw sbError('SB_ERR_FLAG', 'url', `must be an http(s) URL, got "${url ?? ''}"`);
  const scenario = scenarioWithTrace(scenarioFile, traceFile === '' ? null : traceFile, flags.values['trace-speed'] as number);
  const stem = scenarioFile !== '' ? scenarioFile : traceFile;
  const key = str('api-key');
  const bar = flags.values.quiet === true ? null : new ProgressBar();
  const label = str('label') ?? 'target';
  const opts: LoadOptions = {
    baseUrl: url,
    model: str('model'),
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
    maxRequests: num('max-requests'),
    maxDurationS: num('duration'),
    drainS: num('drain'),
    concurrency: num('concurrency'),
    podHeader: str('pod-header'),
    // Said at once (before the run's progress), and again in the summary and report.html.
    onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
    onProgress: bar === null ? undefined : (f, inflight, done) => bar.update(`${scenario.name} → ${url}`, f, `${done} done, ${inflight} in flight`),
  };
  const run = await runLoadScenario(scenario, opts);
  bar?.done(`${scenario.name} → ${url}`, `${run.records.length} requests`);
  const runReport = buildRunReport(scenario, label, scenario.seed, run.records, null, run.pods.length, run.wallMs);
  const report = buildReport('load', scenario, [runReport], url, false, run.warnings);
  const out = str('out') ?? join('bench', 'out', `load-${basename(stem, extname(stem))}`);
  const files = writeReport(out, report);
  process.stdout.write(`${renderTable(report)}\nwrote ${files.json}\nwrote ${files.html}\n`);
  return 0;
}

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
import { loadScenario } from '../loadgen/scenario.js';
import { renderTable } from '../loadgen/table.js';
import { numberFlag, parseSubcommandFlags, stringFlag } from './subcommand-flags.js';

const USAGE = `usage: switchboard load --scenario FILE --url URL [flags]

Sends a scenario's requests in real time to an OpenAI-compatible server and reports
TTFT, TPOT, NTPOT, ITL, E2E, throughput, success, goodput and prefix-cache hits.

flags:
  --scenario FILE       scenario YAML (its fleet section is ignored)
  --url URL             base URL, e.g. http://127.0.0.1:8080
  --model NAME          base model (default: discovered from /v1/models)
  --api-key KEY         sent as "authorization: Bearer KEY"
  --max-requests N      stop after N requests
  --duration S          cap the arrival window at S seconds
  --drain S             wait at most S seconds for requests in flight afterwards
  --concurrency N       most requests in flight (default 256)
  --pod-header NAME     response header naming the serving endpoint (per-pod imbalance)
  --label NAME          policy label in the report (default "target")
  --out DIR             where report.json and report.html go (default bench/out/load-<scenario>)
  --quiet               no progress bar
`;

/** Entry point of `switchboard load`; returns the exit code. */
export async function runLoad(argv: string[]): Promise<number> {
  const v = parseSubcommandFlags(
    'load',
    argv,
    ['scenario', 'url', 'model', 'api-key', 'max-requests', 'duration', 'drain', 'concurrency', 'pod-header', 'label', 'out'],
    ['quiet'],
  );
  if (v.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const str = (k: string): string | undefined => stringFlag(v, k);
  const num = (k: string, min: number): number | undefined => numberFlag(v, k, min);
  const scenarioFile = str('scenario');
  const url = str('url');
  if (scenarioFile === undefined) throw sbError('SB_ERR_FLAG', 'scenario', 'is required');
  if (url === undefined || !/^https?:\/\//.test(url)) throw sbError('SB_ERR_FLAG', 'url', 'must be an http(s) URL');
  const scenario = loadScenario(scenarioFile);
  const key = str('api-key');
  const bar = v.quiet === true ? null : new ProgressBar();
  const label = str('label') ?? 'target';
  const opts: LoadOptions = {
    baseUrl: url,
    model: str('model'),
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
    maxRequests: num('max-requests', 1),
    maxDurationS: num('duration', 0.001),
    drainS: num('drain', 0),
    concurrency: num('concurrency', 1),
    podHeader: str('pod-header'),
    // Said at once (before the run's progress), and again in the summary and report.html.
    onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
    onProgress: bar === null ? undefined : (f, inflight, done) => bar.update(`${scenario.name} → ${url}`, f, `${done} done, ${inflight} in flight`),
  };
  const run = await runLoadScenario(scenario, opts);
  bar?.done(`${scenario.name} → ${url}`, `${run.records.length} requests`);
  const runReport = buildRunReport(scenario, label, scenario.seed, run.records, null, run.pods.length, run.wallMs);
  const report = buildReport('load', scenario, [runReport], url, false, run.warnings);
  const out = str('out') ?? join('bench', 'out', `load-${basename(scenarioFile, extname(scenarioFile))}`);
  const files = writeReport(out, report);
  process.stdout.write(`${renderTable(report)}\nwrote ${files.json}\nwrote ${files.html}\n`);
  return 0;
}

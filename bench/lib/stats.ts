/** Shared helpers for benchmarks: percentiles, machine description, result files. */
import { cpus, loadavg, totalmem } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';

/** The p-th percentile (0..100) of `values`, nearest-rank. */
export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Median of a small list. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** "min–max" spread of a list, formatted with `digits`. */
export function spread(values: number[], digits = 2): string {
  return `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;
}

/** One line describing the machine and runtime. */
export function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/**
 * Whether this run updates the published results (`bench/results/`, `bench/RESULTS.md`): only
 * with `--publish` (or BENCH_PUBLISH=1). Otherwise every write lands in the untracked `bench/out/`,
 * so running a benchmark never dirties the tree.
 */
export function publishing(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): boolean {
  return argv.includes('--publish') || env.BENCH_PUBLISH === '1';
}

/**
 * Where a result file is written: the published path when publishing, else the same name under
 * `bench/out/` (`bench/results/x.json` → `bench/out/results/x.json`, `bench/RESULTS.md` →
 * `bench/out/RESULTS.md`). Paths outside `bench/` are returned unchanged.
 */
export function resultPath(path: string, publish = publishing()): string {
  if (publish) return path;
  const m = /^(.*[\\/])?bench[\\/](results[\\/].+|RESULTS\.md)$/.exec(path);
  return m === null ? path : `${m[1] ?? ''}bench/out/${m[2]}`;
}

/** Writes JSON results, creating the folder (under bench/out/ unless publishing). */
export function writeJson(path: string, data: unknown): void {
  const target = resultPath(path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, JSON.stringify(data, null, 2) + '\n');
}

/**
 * Replaces the section between `<!-- bench:<id>:start -->` and `<!-- bench:<id>:end -->` in
 * bench/RESULTS.md (appending it when missing), so each benchmark owns its section. Unless
 * publishing, the edit goes to a copy in bench/out/RESULTS.md (started from the published file).
 */
export function writeResultsSection(resultsPath: string, id: string, markdown: string): void {
  const target = resultPath(resultsPath);
  const start = `<!-- bench:${id}:start -->`;
  const end = `<!-- bench:${id}:end -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const from = existsSync(target) ? target : resultsPath;
  const current = existsSync(from) ? readFileSync(from, 'utf8') : '# Benchmark results\n';
  const a = current.indexOf(start);
  const b = current.indexOf(end);
  const next = a >= 0 && b > a ? current.slice(0, a) + block + current.slice(b + end.length) : `${current.trimEnd()}\n\n${block}\n`;
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, next);
  if (target !== resultsPath) process.stdout.write(`(not published: wrote ${target}; rerun with --publish to update ${resultsPath})\n`);
}

/** Scenario files and seeds from a scenario bench's command line: `[files...] [--seeds 1,2,3]`. */
export function scenarioArgs(argv: string[], defaultSeeds = [1, 2, 3]): { files: string[]; seeds: number[] } {
  let seeds = defaultSeeds;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seeds') seeds = argv[++i].split(',').map(Number);
    else if (argv[i] !== '--publish') files.push(argv[i]);
  }
  return { files, seeds };
}

/** Load average when the benchmark started, so a reader can judge how quiet the machine was. */
export const startLoad = loadavg();

/** CPU time (all cores, jiffies) from /proc/stat: busy and total; null off Linux. */
function cpuJiffies(): { busy: number; total: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const total = f.reduce((x, y) => x + y, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/**
 * Share of the machine's CPUs that other processes used in the second before the benchmark
 * started (0..1; null when unknown). The load average lags by minutes, so it still shows a
 * benchmark that just ended; this sample does not.
 */
export const startBusy: number | null = await (async () => {
  const a = cpuJiffies();
  await new Promise((r) => setTimeout(r, 1000));
  const b = cpuJiffies();
  if (a === null || b === null || b.total <= a.total) return null;
  return (b.busy - a.busy) / (b.total - a.total);
})();

/**
 * One sentence on how quiet the machine was at the start: "quiet" when other processes used
 * under 10% of the CPUs in the second before the run, otherwise flagged as shared.
 */
export function loadNote(): string {
  const [one, five, fifteen] = startLoad.map((x) => x.toFixed(2));
  const busy = startBusy === null ? 'CPU use unknown' : `${(startBusy * 100).toFixed(0)}% of the ${cpus().length} CPUs busy in the second before the run`;
  const quiet = startBusy !== null && startBusy < 0.1;
  return `${quiet ? 'Quiet machine' : 'Shared machine (other work running; wall-clock figures are preliminary)'}: ${busy}; load average ${one} / ${five} / ${fifteen} (1/5/15 min)`;
}

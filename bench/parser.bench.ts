/**
 * Metrics-page parsing: Switchboard's targeted parser (what a scrape runs: only the engine's
 * metric names) and its full parse, against the npm `parse-prometheus-text-format` parser, on
 * the real pages in test/fixtures/metrics, in the same process.
 *
 *   npm run bench:parser
 * Writes bench/results/parser.json and the parser section of bench/RESULTS.md.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { EngineRegistry } from '../src/datalayer/engines.js';
import { extractMetrics } from '../src/datalayer/extract.js';
import { parsePrometheusText } from '../src/datalayer/prom-text.js';
import { FIXTURE_NAMES, fixture } from '../test/support/fixtures.js';
import { loadNote, machine, median, spread, writeJson, writeResultsSection } from './lib/stats.js';

const quick = process.argv.includes('--quick');
const engines = new EngineRegistry();
const engineOf = (name: string) => (name.startsWith('sglang') ? 'sglang' : name.startsWith('triton') ? 'triton-tensorrt-llm' : 'vllm');

/** Median ns per call of `f` over `rounds` rounds of `n` calls. */
function time(f: () => unknown, n: number, rounds = 5): number[] {
  for (let i = 0; i < n; i++) f();
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const s = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f();
    out.push(Number(process.hrtime.bigint() - s) / n);
  }
  return out;
}

interface Row {
  page: string;
  bytes: number;
  extractNs: number[];
  fullNs: number[];
  npmNs: number[] | null;
  npmError: string | null;
}

const rows: Row[] = [];
for (const name of FIXTURE_NAMES) {
  const text = fixture(name);
  const engine = engines.resolve(engineOf(name));
  const n = quick ? 200 : 3000;
  const extractNs = time(() => extractMetrics(text, engine), n);
  const fullNs = time(() => parsePrometheusText(text), n);
  let npmNs: number[] | null = null;
  let npmError: string | null = null;
  try {
    parsePrometheusTextFormat(text);
    npmNs = time(() => parsePrometheusTextFormat(text), quick ? 50 : 500);
  } catch (err) {
    npmError = (err as Error).message.slice(0, 80);
  }
  rows.push({ page: name, bytes: Buffer.byteLength(text), extractNs, fullNs, npmNs, npmError });
  const us = (v: number[]) => (median(v) / 1000).toFixed(1);
  process.stdout.write(`${name.padEnd(46)} ${String(Buffer.byteLength(text)).padStart(6)} B  extract ${us(extractNs)} µs  full ${us(fullNs)} µs  npm ${npmNs ? us(npmNs) + ' µs' : 'fails: ' + npmError}\n`);
}

const us = (v: number[]) => (median(v) / 1000).toFixed(1);
writeJson(new URL('./results/parser.json', import.meta.url).pathname.replace('/dist-bench/bench/', '/bench/'), {
  machine: machine(),
  command: 'npm run bench:parser',
  date: new Date().toISOString(),
  pages: rows.map((r) => ({
    page: r.page,
    bytes: r.bytes,
    extractMedianNs: median(r.extractNs),
    fullParseMedianNs: median(r.fullNs),
    npmParserMedianNs: r.npmNs ? median(r.npmNs) : null,
    npmParserError: r.npmError,
  })),
});
writeResultsSection(
  new URL('./RESULTS.md', import.meta.url).pathname.replace('/dist-bench/bench/', '/bench/'),
  'parser',
  `## Metrics page parsing (\`npm run bench:parser\`)

Per page, median of 5 rounds (spread in brackets), µs per parse. "Extract" is what a scrape runs:
parse only the engine's metric lines and build the snapshot. "Full" parses every line. The npm
parser \`parse-prometheus-text-format\` runs on the same pages in the same process as the baseline.

${loadNote()}. Machine: ${machine()}. Run: ${new Date().toISOString().slice(0, 10)}.

| page | bytes | extract | full parse | npm parser | npm / extract |
|---|---|---|---|---|---|
${rows
  .map(
    (r) =>
      `| ${r.page} | ${r.bytes} | ${us(r.extractNs)} [${spread(r.extractNs.map((x) => x / 1000), 1)}] | ${us(r.fullNs)} | ${r.npmNs ? us(r.npmNs) : `fails (${r.npmError})`} | ${r.npmNs ? (median(r.npmNs) / median(r.extractNs)).toFixed(0) + '×' : '—'} |`,
  )
  .join('\n')}

At 1,024 endpoints scraped every 50 ms (20,480 pages/s) the largest vLLM page costs
${((20480 * Math.max(...rows.filter((r) => r.page.startsWith('vllm')).map((r) => median(r.extractNs)))) / 1e9 * 100).toFixed(1)}% of one core with the targeted parser.
`,
);


/**
 * `switchboard load` says why requests failed: a breakdown by status with the first message, a
 * warning naming the scenario's models and adapters the target does not serve, "not run" for
 * stages nothing was sent in, and no MaxListenersExceededWarning on long runs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runLoad } from '../../src/cli/load.js';
import { renderHtml } from '../../src/loadgen/html-report.js';
import { errorMessage } from '../../src/loadgen/http-client.js';
import { runLoadScenario } from '../../src/loadgen/http-runner.js';
import { buildReport, buildRunReport } from '../../src/loadgen/report.js';
import { parseScenario } from '../../src/workload/scenario.js';
import { renderTable } from '../../src/loadgen/table.js';
import { startSimFleet, type SimFleet } from '../../src/sim/pod/fleet.js';

let fleet: SimFleet;
const dir = mkdtempSync(join(tmpdir(), 'sb-load-diag-'));

beforeAll(async () => {
  fleet = await startSimFleet({ pods: 1, modelName: 'sim', engine: { maxLoras: 2 }, loraModules: [{ name: 'real-lora' }] });
});

afterAll(async () => {
  await fleet.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Collects process warnings while `fn` runs. */
async function warningsDuring<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: Error[] }> {
  const warnings: Error[] = [];
  const on = (w: Error): void => {
    warnings.push(w);
  };
  process.on('warning', on);
  try {
    const result = await fn();
    // Warnings are emitted on the next tick.
    await new Promise((r) => setImmediate(r));
    return { result, warnings };
  } finally {
    process.off('warning', on);
  }
}

describe('load failures are explained', () => {
  it('names the adapters the target lacks, breaks failures down by status with the first message, marks stages not run', async () => {
    const scenario = parseScenario(`
name: diag-missing-adapters
seed: 3
workload:
  input: 20
  output: 2
  lora: { adapters: [real-lora, ghost-a, ghost-b], baseFraction: 0 }
arrivals:
  process: constant
  stages:
    - { name: main, rate: 200, duration: 0.5 }
    - { name: later, rate: 200, duration: 5 }
drain: 10
`);
    const seen: string[] = [];
    const { result: run, warnings } = await warningsDuring(() =>
      runLoadScenario(scenario, { baseUrl: fleet.pods[0].url, concurrency: 64, maxDurationS: 0.5, onWarning: (m) => seen.push(m) }),
    );
    expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/2 adapters "ghost-a", "ghost-b"/);
    expect(seen[0]).not.toContain('real-lora"');
    expect(run.warnings).toEqual(seen);

    const report = buildReport('load', scenario, [buildRunReport(scenario, 'target', 3, run.records, null, 0, run.wallMs)], fleet.pods[0].url, false, run.warnings);
    const failures = report.runs[0].failures;
    expect(failures).toHaveLength(1);
    expect(failures[0].error).toBe('http_404');
    expect(failures[0].count).toBe(run.records.filter((r) => !r.ok).length);
    expect(failures[0].count).toBeGreaterThan(10);
    expect(failures[0].firstMessage).toMatch(/^The model `ghost-[ab]` does not exist\.$/);
    expect(report.aggregates[0].stageRan).toEqual([true, false]);

    const table = renderTable(report);
    expect(table).toContain('warning: the target does not serve');
    expect(table).toMatch(/http_404\s+\d+\s+The model `ghost-/);
    // The never-run stage reads "not run" in both per-stage tables, not 0 or a dash.
    expect(table.match(/not run/g)).toHaveLength(2);

    const html = renderHtml(report);
    expect(html).toContain('<h2>Failed requests</h2>');
    expect(html).toContain('The model `ghost-');
    expect(html).toMatch(/<th>later<\/th><td>200<\/td><td colspan="13">not run<\/td>/);
    expect(html).toContain('class="warning"');
  });

  it('warns when the base model is not served and explains connection failures', async () => {
    const scenario = parseScenario(`
name: diag-wrong-model
workload: { input: 10, output: 2 }
arrivals: { process: constant, stages: [ { rate: 50, duration: 0.2 } ] }
drain: 5
`);
    const run = await runLoadScenario(scenario, { baseUrl: fleet.pods[0].url, model: 'not-this-one' });
    expect(run.warnings[0]).toMatch(/does not serve the scenario's model "not-this-one" \(its \/v1\/models lists: sim, real-lora\)/);
    const r = buildRunReport(scenario, 't', 1, run.records, null, 0, run.wallMs);
    expect(r.failures[0]).toMatchObject({ error: 'http_404', firstMessage: 'The model `not-this-one` does not exist.' });

    // Nothing listens: the failure names the socket error.
    const closed = await startSimFleet({ pods: 1 });
    const url = closed.pods[0].url;
    await closed.close();
    const dead = await runLoadScenario(scenario, { baseUrl: url, model: 'x' });
    expect(dead.warnings[0]).toMatch(/could not read .*\/v1\/models/);
    const d = buildRunReport(scenario, 't', 1, dead.records, null, 0, dead.wallMs);
    expect(d.failures[0].error).toBe('connection');
    expect(d.failures[0].firstMessage).toMatch(/ECONNREFUSED/);
  });

  it('names errors sent inside a 200 stream and streams cut before [DONE]', async () => {
    // A server whose streams fail: odd requests carry an error event, even ones just stop.
    let n = 0;
    const server = http.createServer((req, res) => {
      if (req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[{"id":"m","object":"model"}]}');
        return;
      }
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"choices":[{"index":0,"text":"abc "}]}\n\n');
      if (n++ % 2 === 0) res.end('data: {"error":{"message":"engine died","type":"InternalServerError","code":500}}\n\ndata: [DONE]\n\n');
      else res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const scenario = parseScenario(`
name: diag-stream
workload: { input: 5, output: 2 }
arrivals: { process: constant, stages: [ { rate: 20, duration: 0.2 } ] }
drain: 5
`);
      const run = await runLoadScenario(scenario, { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, concurrency: 1 });
      expect(run.warnings).toEqual([]);
      const f = buildRunReport(scenario, 't', 1, run.records, null, 0, run.wallMs).failures;
      expect(f).toEqual([
        { error: 'stream_error', count: 2, firstMessage: 'engine died' },
        { error: 'truncated', count: 2, firstMessage: 'the stream ended without "data: [DONE]"' },
      ]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('reads the message from every usual error body', () => {
    expect(errorMessage('{"error":{"message":"no such model","type":"NotFoundError","code":404}}')).toBe('no such model');
    expect(errorMessage('{"object":"error","message":"old vllm","code":400}')).toBe('old vllm');
    expect(errorMessage('{"detail":"Not Found"}')).toBe('Not Found');
    expect(errorMessage('upstream connect error\n or disconnect')).toBe('upstream connect error or disconnect');
    expect(errorMessage('x'.repeat(1000))).toHaveLength(300);
  });
});

describe('long runs do not leak abort listeners', () => {
  it('runs 600 requests, 400 of them multi-turn follow-ups, with no MaxListenersExceededWarning', async () => {
    const scenario = parseScenario(`
name: diag-many
seed: 9
workload:
  api: chat
  input: 10
  output: 2
  sessions: { turns: 3, followUp: 5, thinkTimeS: 0.01 }
arrivals: { process: constant, stages: [ { rate: 400, duration: 0.5 }, { rate: 0, duration: 1.5 } ] }
drain: 20
maxRequests: 600
`);
    const { result: run, warnings } = await warningsDuring(() => runLoadScenario(scenario, { baseUrl: fleet.pods[0].url, concurrency: 128 }));
    expect(run.records).toHaveLength(600);
    expect(run.records.filter((r) => r.turn > 0)).toHaveLength(400);
    expect(run.records.every((r) => r.ok)).toBe(true);
    expect(warnings.map((w) => `${w.name}: ${w.message}`).filter((m) => m.includes('MaxListeners'))).toEqual([]);
  });

  it('the CLI prints the failure breakdown and the warning, and writes them into report.html', async () => {
    const file = join(dir, 'cli.yaml');
    writeFileSync(
      file,
      `name: diag-cli
workload: { input: 10, output: 2, lora: { adapters: [ghost-c], baseFraction: 0 } }
arrivals: { process: constant, stages: [ { rate: 40, duration: 0.25 }, { name: never, rate: 40, duration: 5 } ] }
drain: 5
`,
    );
    const out: string[] = [];
    const err: string[] = [];
    const so = vi.spyOn(process.stdout, 'write').mockImplementation((c) => out.push(String(c)) > 0);
    const se = vi.spyOn(process.stderr, 'write').mockImplementation((c) => err.push(String(c)) > 0);
    let code: number;
    try {
      code = await runLoad(['--scenario', file, '--url', fleet.pods[0].url, '--duration', '0.25', '--quiet', '--out', join(dir, 'out')]);
    } finally {
      so.mockRestore();
      se.mockRestore();
    }
    expect(code).toBe(0);
    expect(err.join('')).toMatch(/^warning: the target does not serve the scenario's adapter "ghost-c"/m);
    const text = out.join('');
    expect(text).toMatch(/failed requests:\n\s+status\s+count\s+first message\n\s+http_404\s+10\s+The model `ghost-c` does not exist\./);
    expect(text).toMatch(/never\s*\n/); // header of the per-stage tables
    expect(text.match(/not run/g)).toHaveLength(2);
    const html = readFileSync(join(dir, 'out', 'report.html'), 'utf8');
    expect(html).toContain('The model `ghost-c` does not exist.');
    const json = JSON.parse(readFileSync(join(dir, 'out', 'report.json'), 'utf8')) as { warnings: string[]; runs: Array<{ failures: unknown[] }> };
    expect(json.warnings).toHaveLength(1);
    expect(json.runs[0].failures).toEqual([{ error: 'http_404', count: 10, firstMessage: 'The model `ghost-c` does not exist.' }]);
  });
});

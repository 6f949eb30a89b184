/**
 * access-log: one trace line per finished request (never prompt text), written off the request
 * path through a bounded queue that drops and counts when the disk is slow or failing; through
 * both front doors (the official openai client against the proxy, and against an HTTP listener
 * in front of the Envoy ext_proc emulator), and the written log replays in the simulator.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBuiltinPlugins } from '../../../src/builtin-plugins.js';
import type { ResponseObservation } from '../../../src/director/framework/lifecycle-hook.js';
import { ACCESS_LOG, AccessLog } from '../../../src/director/plugins/access-log/index.js';
import type { Endpoint } from '../../../src/pool/endpoint.js';
import { policyFactory } from '../../../src/sim/scorecard/policies.js';
import { runScorecard } from '../../../src/sim/scorecard/runner.js';
import { loadTrace, parseTrace } from '../../../src/workload/trace.js';
import { traceScenario } from '../../../src/workload/trace-scenario.js';
import { observation } from '../../support/observation.js';
import { makePool } from '../../support/pool.js';
import { eventually } from '../../support/extproc-harness.js';
import { startTwoDoors, type TwoDoors } from '../../support/two-doors.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-access-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function obs(ep: Endpoint, o: Partial<ResponseObservation> = {}): ResponseObservation {
  return observation(ep, {
    fairnessId: null,
    usage: { promptTokens: 10, completionTokens: 33, totalTokens: 43, cachedTokens: 4 },
    startedAt: 5000,
    dispatchedAt: 5001,
    firstByteAt: 5100,
    lastByteAt: 5420,
    finishedAt: 5420,
    ttftMs: 99,
    tpotMs: 10,
    itlMs: 10,
    events: 34,
    ...o,
  });
}

function make(params: Record<string, unknown>): { log: AccessLog; ep: Endpoint } {
  const pool = makePool([{}]);
  const log = registerBuiltinPlugins().create(ACCESS_LOG, 'log', params, { pool, rng: Math.random }) as AccessLog;
  return { log, ep: pool.endpoints()[0] };
}

describe('access-log plugin', () => {
  it('writes one trace line per request: lengths, timings, endpoint, tenant, adapter; skips retried attempts and unknown lengths', async () => {
    const path = join(dir, 'unit.jsonl');
    const { log, ep } = make({ path, baseModels: ['m'] });
    log.responseComplete(obs(ep, { outcome: 'retried' }));
    log.responseComplete(obs(ep, { fairnessId: 'team-a' }));
    log.responseComplete(obs(ep, { startedAt: 5250, finishedAt: 5600, targetModel: 'sql-lora', tpotMs: -1, usage: { promptTokens: 7, completionTokens: 2, totalTokens: 9, cachedTokens: -1 } }));
    log.responseComplete(obs(ep, { usage: null }));
    await log.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0])).toEqual({
      offset_ms: 0,
      input_tokens: 10,
      output_tokens: 33,
      tenant: 'team-a',
      model: 'm',
      endpoint: ep.key,
      status: 200,
      outcome: 'ok',
      ttft_ms: 99,
      tpot_ms: 10,
      e2e_ms: 420,
      cached_tokens: 4,
    });
    expect(JSON.parse(lines[1])).toMatchObject({ offset_ms: 250, input_tokens: 7, output_tokens: 2, adapter: 'sql-lora', tpot_ms: -1 });
    expect(parseTrace(lines.join('\n')).records).toHaveLength(2);
    expect(log.stats()).toEqual({ written: 2, droppedFull: 0, droppedError: 0, skippedNoUsage: 1 });
  });

  it('a failing disk loses lines, counted; the hook never throws', async () => {
    const { log, ep } = make({ path: join(dir, 'missing-dir', 'x.jsonl'), flushInterval: '1ms' });
    for (let i = 0; i < 5; i++) expect(() => log.responseComplete(obs(ep))).not.toThrow();
    await log.flush();
    expect(log.stats()).toMatchObject({ written: 0, droppedError: 5 });
    await log.close();
  });

  it('a stuck writer fills the bounded queue; further lines are dropped and counted, the hook returns at once', async () => {
    const fifo = join(dir, 'stuck.fifo');
    execFileSync('mkfifo', [fifo]);
    // Nobody reads the FIFO yet: opening it for writing blocks, like a hung disk.
    const { log, ep } = make({ path: fifo, maxQueuedLines: 3, batchLines: 1 });
    log.responseComplete(obs(ep));
    await new Promise((r) => setTimeout(r, 20)); // the first batch is now stuck in open()
    for (let i = 0; i < 10; i++) log.responseComplete(obs(ep, { startedAt: 5000 + i }));
    expect(log.stats()).toMatchObject({ written: 0, droppedFull: 7 });
    // A reader arrives: everything queued is written.
    const chunks: Buffer[] = [];
    const reader = createReadStream(fifo);
    reader.on('data', (c) => chunks.push(c as Buffer));
    await log.close();
    await new Promise<void>((r) => reader.on('close', () => r()));
    expect(Buffer.concat(chunks).toString().trim().split('\n')).toHaveLength(4);
    expect(log.stats()).toMatchObject({ written: 4, droppedFull: 7 });
  });

  it.each([
    [{}, 'path'],
    [{ path: 'x', maxQueuedLines: 0 }, 'maxQueuedLines'],
    [{ path: 'x', flushInterval: 'soon' }, 'flushInterval'],
  ])('rejects bad parameters %j naming %s', (params, field) => {
    expect(() => make(params)).toThrow(field);
  });
});

describe('access log through both front doors (official openai client, real pods)', () => {
  const path = join(dir, 'doors.jsonl');
  let td: TwoDoors;
  let envoyFront: http.Server;
  let envoyUrl = '';

  beforeAll(async () => {
    td = await startTwoDoors({
      pods: 2,
      pod: { chunks: 4, chunkDelayMs: 2 },
      config: `
apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: access-log
  parameters: { path: ${JSON.stringify(path)}, flushInterval: 10ms }
`,
    });
    // Envoy's listener: the client talks HTTP to it, the emulator runs the ext_proc exchange.
    envoyFront = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c as Buffer));
      req.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        td.emulator.send({ path: req.url ?? '/', headers, body: Buffer.concat(chunks).toString() }).then(
          (r) => {
            res.writeHead(r.status, { 'content-type': r.headers['content-type'] ?? 'application/json' });
            res.end(r.body);
          },
          () => res.writeHead(502).end(),
        );
      });
    });
    await new Promise<void>((r) => envoyFront.listen(0, '127.0.0.1', r));
    envoyUrl = `http://127.0.0.1:${(envoyFront.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => envoyFront?.close(r));
    await td?.close();
  });

  it('writes a replayable line per request from each door, with no prompt text', async () => {
    const secret = 'the secret prompt text';
    const viaProxy = new OpenAI({ baseURL: `${td.proxyUrl}/v1`, apiKey: 'test', maxRetries: 0, defaultHeaders: { 'x-gateway-inference-fairness-id': 'team-proxy' } });
    const viaEnvoy = new OpenAI({ baseURL: `${envoyUrl}/v1`, apiKey: 'test', maxRetries: 0, defaultHeaders: { 'x-gateway-inference-fairness-id': 'team-envoy' } });
    const stream = await viaProxy.completions.create({ model: 'base-model', prompt: secret, stream: true, stream_options: { include_usage: true } });
    for await (const c of stream) void c;
    const plain = await viaProxy.completions.create({ model: 'base-model', prompt: secret });
    expect(plain.usage?.completion_tokens).toBe(4);
    const viaExtProc = await viaEnvoy.completions.create({ model: 'base-model', prompt: secret });
    expect(viaExtProc.usage?.completion_tokens).toBe(4);
    await eventually(async () => (await td.metric('switchboard_access_log_lines_total', { result: 'written' })) === 3, 5000);

    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('secret');
    const trace = loadTrace(path);
    expect(trace.records).toHaveLength(3);
    expect(trace.records.map((r) => r.tenant).sort()).toEqual(['team-envoy', 'team-proxy', 'team-proxy']);
    for (const r of trace.records) {
      expect(td.pods.map((p) => p.key)).toContain(r.observed?.endpoint);
      expect(r.outputTokens).toBe(4);
      expect(r.inputTokens).toBeGreaterThan(0);
      expect(r.observed).toMatchObject({ status: 200, outcome: 'ok', model: 'base-model' });
      expect(r.observed?.e2eMs).toBeGreaterThanOrEqual(0);
    }
    expect(trace.records.filter((r) => (r.observed?.ttftMs ?? -1) >= 0).length).toBeGreaterThanOrEqual(1);

    // The written log replays against the simulator: same requests, same lengths.
    const run = await runScorecard(traceScenario(trace), policyFactory('least-request'));
    expect(run.records).toHaveLength(3);
    expect(run.records.every((r) => r.ok)).toBe(true);
    expect(run.records.map((r) => r.outputTokens)).toEqual([4, 4, 4]);
    expect(run.records.map((r) => r.tenant).sort()).toEqual(['team-envoy', 'team-proxy', 'team-proxy']);
  });
});

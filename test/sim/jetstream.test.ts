/**
 * JetStream mode of the simulator (`switchboard sim --engine jetstream`, the TPU profile): its
 * /metrics page uses JetStream's names and labels, parses as Prometheus text, and the built-in
 * `jetstream` engine mapping reads the same signals from it as from JetStream's published page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSimFlags } from '../../src/cli/sim.js';
import { EngineRegistry } from '../../src/datalayer/engines.js';
import { extractMetrics } from '../../src/datalayer/extract.js';
import { startSimFleet, type SimFleet } from '../../src/sim/pod/fleet.js';
import { fixture } from '../support/fixtures.js';

const jetstream = new EngineRegistry().resolve('jetstream');
let fleet: SimFleet;

beforeAll(async () => {
  fleet = await startSimFleet({ profile: 'llama-3-8b-tpu-v5e-8', engineType: 'jetstream', modelName: 'llama-3-8b' });
});
afterAll(async () => {
  await fleet?.close();
});

describe('sim --engine jetstream', () => {
  it('parses the flag', () => {
    expect(parseSimFlags(['--engine', 'jetstream', '--profile', 'llama-3-8b-tpu-v5e-8'])).toMatchObject({ engineType: 'jetstream', profile: 'llama-3-8b-tpu-v5e-8' });
  });

  it("JetStream's published page: prefill backlog is the queue, slot use the load", () => {
    const r = extractMetrics(fixture('jetstream_docs_example.prom'), jetstream);
    expect(r.ok && r.metrics).toMatchObject({ waitingQueueSize: 0, kvCacheUsage: 0.04166666666666663, runningRequests: 0 });
  });

  it('serves a JetStream /metrics page that the jetstream mapping reads, while requests run', async () => {
    const base = fleet.pods[0].url;
    const body = JSON.stringify({ model: 'llama-3-8b', prompt: 'tell me a story', max_tokens: 60, ignore_eos: true, stream: true });
    const running = Array.from({ length: 3 }, () => fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
    const responses = await Promise.all(running);
    const page = await (await fetch(`${base}/metrics`)).text();
    expect(page).toMatch(/^# HELP jetstream_prefill_backlog_size Size of prefill queue$/m);
    expect(page).toMatch(/^jetstream_slots_used_percentage\{id="sim-pod-\d+",model_name="llama_3_8b",idx="0"\} /m);
    expect(page).toMatch(/^jetstream_time_to_first_token_bucket\{id="sim-pod-\d+",model_name="llama_3_8b",le="\+Inf"\} /m);
    expect(page).not.toContain('vllm:');
    const r = extractMetrics(page, jetstream);
    if (!r.ok) throw new Error(r.error);
    // Three requests in 128 decode slots (or still in the prefill backlog).
    expect(r.metrics.kvCacheUsage * 128 + r.metrics.waitingQueueSize).toBe(3);
    await Promise.all(responses.map((res) => res.text()));
    const after = extractMetrics(await (await fetch(`${base}/metrics`)).text(), jetstream);
    expect(after.ok && after.metrics).toMatchObject({ kvCacheUsage: 0, waitingQueueSize: 0 });
  });
});

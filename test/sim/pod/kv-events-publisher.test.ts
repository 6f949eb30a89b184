/**
 * The whole precise path on loopback: simulated vLLM pods publish KV events over real ZMQ from
 * their block pools, Switchboard subscribes, tokenizes requests through the pods' /tokenize, and
 * routes. The keys a request gets must match the keys built from the events the pod published
 * for the same prompt, in each wire shape the simulator can speak.
 */
import { request as httpRequest } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { requestKeys, rootKey } from '../../../src/datalayer/kv-events/block-keys.js';
import { validateConfig } from '../../../src/config/load.js';
import type { PrecisePrefixCacheScorer } from '../../../src/scheduling/plugins/precise-prefix-cache-scorer/index.js';
import { PRECISE_PREFIX_STATS } from '../../../src/scheduling/framework/precise-prefix.js';
import { startSimFleet, type SimFleet } from '../../../src/sim/pod/fleet.js';
import type { KvEventsPublisherOptions } from '../../../src/sim/pod/kv-events-publisher.js';
import { createSwitchboard, type Switchboard } from '../../../src/switchboard.js';
import { renderChat } from '../../../src/workload/chat-template.js';
import { synthText, tokenize } from '../../../src/workload/tokenizer.js';
import { until } from '../../support/net.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await (cleanups.pop() as () => Promise<void>)();
});

async function setup(kvEvents: Partial<KvEventsPublisherOptions>): Promise<{ fleet: SimFleet; core: Switchboard; scorer: PrecisePrefixCacheScorer }> {
  const fleet = await startSimFleet({ pods: 2, kvEvents: { port: 0, replayPort: 0, ...kvEvents }, chatMaxTokens: 4 });
  cleanups.push(() => fleet.close());
  const config = validateConfig(
    {
      apiVersion: 'inference.networking.x-k8s.io/v1alpha1',
      kind: 'EndpointPickerConfig',
      plugins: [{ type: 'precise-prefix-cache-scorer', parameters: { tokenizer: { timeout: '2s' } } }, { type: 'max-score-picker' }],
      schedulingProfiles: [{ name: 'default', plugins: [{ pluginRef: 'precise-prefix-cache-scorer' }, { pluginRef: 'max-score-picker' }] }],
      endpoints: fleet.pods.map((p) => ({ address: p.address, port: p.port, kvEventsPort: p.pod.kvEvents?.port, kvEventsReplayPort: p.pod.kvEvents?.replayPort })),
    },
    'test',
  );
  // No scrapes here: staleness off, so the scores decide.
  const core = createSwitchboard({ config, telemetry: false, scrape: false, stalenessMs: 0 });
  cleanups.push(() => core.close());
  const scorer = core.built.plugins.get('precise-prefix-cache-scorer') as unknown as PrecisePrefixCacheScorer;
  return { fleet, core, scorer };
}

/** Sends a chat completion straight to a pod (not through Switchboard). */
async function chat(url: string, model: string, content: string): Promise<void> {
  const res = await httpRequest(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], max_tokens: 4 }),
  });
  expect(res.statusCode).toBe(200);
  await res.body.text();
}

const shapes: Array<Partial<KvEventsPublisherOptions>> = [
  { encoding: 'map', hashes: 'int' },
  { encoding: 'array', hashes: 'bytes', replayLayout: 'legacy' },
];

describe('switchboard sim --kv-events', () => {
  for (const shape of shapes) {
    it(`keys a request exactly as the pod's events key the same prompt (${shape.encoding} events, ${shape.hashes} hashes)`, async () => {
      const { fleet, core, scorer } = await setup(shape);
      const content = synthText(7, 400);
      // The prompt reaches pod 1 directly: only its events can tell Switchboard.
      await chat(fleet.pods[1].url, fleet.modelName, content);
      const tokens = tokenize(renderChat([{ role: 'user', content }]));
      const full = Math.floor(tokens.length / 16);
      const slot1 = core.pool.get(`${fleet.pods[1].address}:${fleet.pods[1].port}`)!.slot;
      await until(() => scorer.events.index.blocksOf(slot1) >= full);
      const keys = new Float64Array(full);
      requestKeys(tokens, 16, full, rootKey(''), '', keys);
      const counts = new Float64Array(core.pool.capacity);
      scorer.events.index.match(keys, full, counts, new Int32Array(core.pool.capacity));
      expect(counts[slot1]).toBe(full);

      // Through the director: the request is tokenized by /tokenize and routed to pod 1.
      const body = Buffer.from(JSON.stringify({ model: fleet.modelName, messages: [{ role: 'user', content }], max_tokens: 4 }));
      const d = await core.director.handleRequest({ requestId: 'r1', path: '/v1/chat/completions', headers: { get: (n) => (n === 'content-type' ? 'application/json' : undefined) }, body, subset: null });
      expect(d.kind).toBe('route');
      if (d.kind === 'route') {
        expect(d.endpoints[0].port).toBe(fleet.pods[1].port);
        d.lifecycle.finish('ok');
      }
      const stats = core.built.stats.reader(PRECISE_PREFIX_STATS)!();
      expect(stats.fallbacks.no_tokens).toBe(0);
      expect(stats.tokenizer.requests).toBe(1);
      expect(stats.endpoint(slot1)).toMatchObject({ reliable: true, gaps: 0 });
    });
  }

  it('evictions on a small pool reach the index as removals', async () => {
    const fleet = await startSimFleet({ pods: 1, kvEvents: { port: 0 }, engine: { numGpuBlocks: 64 }, chatMaxTokens: 2 });
    cleanups.push(() => fleet.close());
    const config = validateConfig(
      {
        apiVersion: 'inference.networking.x-k8s.io/v1alpha1',
        kind: 'EndpointPickerConfig',
        plugins: [{ type: 'precise-prefix-cache-scorer', parameters: { tokenizer: { backend: 'none' } } }, { type: 'max-score-picker' }],
        schedulingProfiles: [{ name: 'default', plugins: [{ pluginRef: 'precise-prefix-cache-scorer' }, { pluginRef: 'max-score-picker' }] }],
        endpoints: [{ address: fleet.pods[0].address, port: fleet.pods[0].port, kvEventsPort: fleet.pods[0].pod.kvEvents?.port }],
      },
      'test',
    );
    const core = createSwitchboard({ config, telemetry: false, scrape: false });
    cleanups.push(() => core.close());
    const scorer = core.built.plugins.get('precise-prefix-cache-scorer') as unknown as PrecisePrefixCacheScorer;
    await until(() => scorer.events.state(0) !== null);
    // Keep sending distinct prompts until the pod evicts and the index sees removals.
    for (let i = 0; i < 40 && scorer.events.index.counts.removed === 0; i++) {
      await chat(fleet.pods[0].url, fleet.modelName, synthText(100 + i, 200));
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(scorer.events.index.counts.removed).toBeGreaterThan(0);
    expect(scorer.events.index.blocksOf(0)).toBeLessThanOrEqual(64);
  });
});

import { registerBuiltinPlugins } from '../../src/builtin-plugins.js';
/** Builds a scheduler from config text over a test pool. */
import { parseConfig } from '../../src/config/load.js';
import { buildScheduling } from '../../src/scheduling/build.js';
import type { SchedulingRequest } from '../../src/scheduling/framework/cycle.js';
import { Scheduler } from '../../src/scheduling/scheduler.js';
import type { EndpointPool } from '../../src/pool/pool.js';
import { seeded } from './pool.js';

/** The Go EPP hermetic test config: queue, kv, prefix and lora scorers at weight 1, max-score picker. */
export const HERMETIC_CONFIG = `
apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
- type: lora-affinity-scorer
- type: max-score-picker
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
  - pluginRef: kv-cache-utilization-scorer
  - pluginRef: prefix-cache-scorer
  - pluginRef: lora-affinity-scorer
  - pluginRef: max-score-picker
`;

/** A scheduler for `configText` over `pool`. */
export function schedulerFor(pool: EndpointPool, configText = HERMETIC_CONFIG, stalenessMs = 2000): Scheduler {
  const rng = seeded(7);
  const built = buildScheduling(parseConfig(configText), { pool, rng }, { registry: registerBuiltinPlugins() });
  return new Scheduler(pool, built.profile, { stalenessThresholdMs: stalenessMs, rng });
}

/** A scheduling request for `model` with `prompt` as a completions body. */
export function request(model: string, prompt = 'test1', headers: Record<string, string> = {}): SchedulingRequest {
  const body = Buffer.from(JSON.stringify({ prompt, max_tokens: 100, temperature: 0, model }));
  const start = body.indexOf('"prompt":"') + 10;
  return {
    requestId: 'test-request-id',
    targetModel: model,
    body,
    promptStart: start,
    promptEnd: start + Buffer.byteLength(prompt),
    cacheSalt: '',
    inputTokens: 2,
    outputTokens: 3,
    headers: { get: (n) => headers[n] },
    priority: 0,
  };
}

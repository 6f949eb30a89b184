/** `core-metrics-extractor`: the engine mappings that turn metrics pages into signals. See README.md. */
import type { Factory } from '../../../framework/plugin.js';
import { BUILTIN_ENGINES, EngineRegistry, type EngineConfig } from '../../engines.js';
import type { MetricsExtractor } from '../../framework/data-layer.js';

export const CORE_METRICS_EXTRACTOR = 'core-metrics-extractor';

export const coreMetricsExtractor: Factory<MetricsExtractor> = (name, p) => {
  const defaultEngine = p.string('defaultEngine', 'vllm');
  const labelKey = p.string('engineLabelKey', 'inference.networking.k8s.io/engine-type');
  const configs = p.value<unknown>('engineConfigs') ?? [];
  if (!Array.isArray(configs)) p.fail('engineConfigs', 'must be a list');
  const user = (configs as unknown[]).map((c, i) => {
    if (typeof c !== 'object' || c === null || typeof (c as EngineConfig).name !== 'string') p.fail(`engineConfigs[${i}]`, 'must be a mapping with a name');
    return c as EngineConfig;
  });
  const build = (overrides?: Partial<EngineConfig>): EngineRegistry => {
    const all = [...user];
    if (overrides !== undefined && Object.keys(overrides).length > 0) {
      // Deprecated metric flags override the default engine's specs, on top of any user config.
      const base = all.find((c) => c.name === defaultEngine) ?? BUILTIN_ENGINES.find((c) => c.name === defaultEngine) ?? { name: defaultEngine };
      all.push({ ...base, ...overrides, name: defaultEngine });
    }
    const known = new Set([...BUILTIN_ENGINES, ...all].map((c) => c.name));
    if (!known.has(defaultEngine)) p.fail('defaultEngine', `"${defaultEngine}" is not a known engine (known: ${[...known].join(', ')})`);
    try {
      return new EngineRegistry(all, defaultEngine, labelKey);
    } catch (err) {
      return p.fail('engineConfigs', (err as Error).message);
    }
  };
  build(); // validate the mappings now, so a bad config stops at start
  return { typedName: { type: CORE_METRICS_EXTRACTOR, name }, engines: build };
};

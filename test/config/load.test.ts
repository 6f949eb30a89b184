import { readFileSync } from 'node:fs';
import { buildDataLayer } from '../../src/datalayer/build.js';
import { registerBuiltinPlugins } from '../../src/builtin-plugins.js';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { defaultConfig, DEFAULT_CONFIG_YAML } from '../../src/config/defaults.js';
import { buildScheduling } from '../../src/scheduling/build.js';
import { makePool, seeded } from '../support/pool.js';

/** The Go EPP's documented full config, as users write it. */
const GO_EPP_CONFIG = `
apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
featureGates: ["flowControl"]
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
  parameters: {autoTune: true, blockSizeTokens: 16, maxPrefixBlocksToMatch: 256, lruCapacityPerServer: 31250}
- type: lora-affinity-scorer
- type: max-score-picker
  parameters: {maxNumOfEndpoints: 1}
- type: utilization-detector
  parameters: {queueDepthThreshold: 5, kvCacheUtilThreshold: 0.8, metricsStalenessThreshold: 200ms, headroom: 0.0}
- type: metrics-data-source
  parameters: {scheme: http, path: /metrics, insecureSkipVerify: true}
- type: core-metrics-extractor
  parameters: {defaultEngine: vllm, engineLabelKey: inference.networking.k8s.io/engine-type}
schedulingProfiles:
- name: default
  plugins:
  - {pluginRef: queue-scorer, weight: 2}
  - {pluginRef: kv-cache-utilization-scorer, weight: 2}
  - {pluginRef: prefix-cache-scorer, weight: 3}
  - {pluginRef: max-score-picker}
saturationDetector: {pluginRef: utilization-detector}
dataLayer:
  sources: [{pluginRef: metrics-data-source, extractors: [{pluginRef: core-metrics-extractor}]}]
flowControl: {maxBytes: 1Gi, defaultRequestTTL: 30s,
              priorityBands: [{priority: 100, maxBytes: 500M, fairnessPolicyRef: round-robin-fairness-policy,
                               orderingPolicyRef: fcfs-ordering-policy}]}
parser: {pluginRef: max-score-picker}
`;

const build = (text: string) => buildScheduling(parseConfig(text), { pool: makePool([]), rng: seeded(1) }, { registry: registerBuiltinPlugins() });
const fails = (text: string) => {
  try {
    build(text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the config to fail');
};

describe('EndpointPickerConfig', () => {
  it("loads the Go EPP's documented config unchanged (except a parser of the wrong type)", () => {
    expect(fails(GO_EPP_CONFIG)).toMatch(/parser: plugin type "max-score-picker" is not a parser/);
    const fixed = GO_EPP_CONFIG.replace('parser: {pluginRef: max-score-picker}', '');
    const b = build(fixed);
    // The prefix scorer runs first (it publishes matches); the sum does not depend on order.
    expect(b.profile.scorers.map((s) => [s.scorer.typedName.type, s.weight])).toEqual([
      ['prefix-cache-scorer', 3],
      ['queue-scorer', 2],
      ['kv-cache-utilization-scorer', 2],
    ]);
    expect(buildDataLayer(parseConfig(fixed), b.plugins, registerBuiltinPlugins(), { pool: makePool([]), rng: seeded(1) }, undefined).source).toEqual({ scheme: 'http', path: '/metrics', insecureSkipVerify: true });
    expect(b.saturationDetector?.typedName.type).toBe('utilization-detector');
    expect(b.warnings).toEqual([]);
  });

  it('builds the default profile: decode-headroom filter, prefix 3, prefill work 2, queue 2, kv 2, lora 4, max-score picker', () => {
    const b = buildScheduling(defaultConfig(), { pool: makePool([]), rng: seeded(1) }, { registry: registerBuiltinPlugins() });
    expect(b.profile.scorers.map((s) => `${s.scorer.typedName.type}:${s.weight}`)).toEqual([
      'prefix-cache-scorer:3',
      'prefill-work-scorer:2',
      'queue-scorer:2',
      'kv-cache-utilization-scorer:2',
      'lora-affinity-scorer:4',
    ]);
    expect(b.profile.filters.map((f) => f.typedName.type)).toEqual(['decode-headroom-filter']);
    expect(b.profile.picker.typedName.type).toBe('max-score-picker');
  });

  it('README shows the default profile that runs (the block users copy must not drift from it)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const after = readme.slice(readme.indexOf('Without a file, the default\nprofile runs:'));
    const block = /```yaml\n([\s\S]*?)```/.exec(after);
    expect(block).not.toBeNull();
    expect({ ...parseConfig(block![1]), source: '' }).toEqual({ ...defaultConfig(), source: '' });
  });

  it('adds a max-score picker when a profile has none, and builds an implicit profile when none is given', () => {
    const b = build('plugins: [{type: queue-scorer}]');
    expect(b.profile.picker.typedName.type).toBe('max-score-picker');
    expect(b.profile.scorers[0].weight).toBe(1);
    // A file without scheduling sections keeps the default profile (never an empty one).
    expect(build('{}').profile.scorers.map((s) => s.scorer.typedName.type)).toEqual(build(DEFAULT_CONFIG_YAML).profile.scorers.map((s) => s.scorer.typedName.type));
  });

  it('names the field and the reason for invalid configs', () => {
    const cases: Array<[string, RegExp]> = [
      ['kind: Other', /kind: must be EndpointPickerConfig/],
      ['apiVersion: v9', /apiVersion: must be inference/],
      ['plugins: {a: 1}', /plugins: must be a list/],
      ['plugins: [{name: x}]', /plugins\[0\]\.type: is required/],
      ['plugins: [{type: warp-drive}]', /unknown plugin type "warp-drive" \(known: .*queue-scorer/],
      ['plugins: [{type: queue-scorer}, {type: queue-scorer}]', /plugins\[1\]\.name: duplicate plugin name "queue-scorer"/],
      ['plugins: [{type: queue-scorer}]\nschedulingProfiles: [{name: a, plugins: [{pluginRef: nope}]}]', /pluginRef: no plugin named "nope"/],
      ['plugins: [{type: queue-scorer}]\nschedulingProfiles: [{name: a, plugins: [{pluginRef: queue-scorer, weight: -1}]}]', /weight: must not be negative/],
      ['plugins: [{type: queue-scorer}]\nschedulingProfiles: [{name: a, plugins: [{pluginRef: queue-scorer, weight: "2"}]}]', /weight: must be a number/],
      ['surprise: 1', /surprise: unknown field/],
      ['plugins: [{type: max-score-picker, parameters: {maxNumOfEndpoints: -2}}]', /plugin "max-score-picker" \(max-score-picker\): .*maxNumOfEndpoints must be >= 1/],
      ['featureGates: [warp]', /unknown feature gate "warp"/],
      ['plugins: [{type: random-picker}, {type: max-score-picker}]\nschedulingProfiles: [{name: a, plugins: [{pluginRef: random-picker}, {pluginRef: max-score-picker}]}]', /two pickers/],
      ['endpoints: ["10.0.0.1"]', /endpoints\[0\]: must be "host:port"/],
      ['endpoints: ["10.0.0.1:80", "10.0.0.1:80"]', /duplicate endpoint/],
      ['endpoints: [{address: a, port: 70000}]', /port: must be a port/],
      ['objectives: [{name: a, priority: high}]', /priority: must be an integer/],
      ['modelRewrites: [{model: a, targets: []}]', /needs at least one target/],
      ['plugins: [{type: queue-scorer}]\nschedulingProfiles: [{name: a}, {name: a}]', /duplicate profile name/],
      ['a: [unclosed', /not valid YAML/],
      ['k: 1\nk: 2', /not valid YAML/],
    ];
    for (const [text, re] of cases) expect(fails(text), text).toMatch(re);
  });

  it('warns about unknown plugin parameters instead of refusing (the Go EPP ignores them)', () => {
    const b = build('plugins: [{type: queue-scorer, parameters: {colour: blue}}]');
    expect(b.warnings).toEqual([{ code: 'SB_WARN_UNKNOWN_PARAMS', message: 'plugin "queue-scorer" (queue-scorer): unknown parameters colour ignored' }]);
  });

  it('applies prefix parameters given on the Go producer plugin', () => {
    const b = build('plugins: [{type: approx-prefix-cache-producer, parameters: {blockSizeTokens: 4}}, {type: prefix-cache-scorer}]');
    expect(b.warnings).toEqual([]);
    expect(b.profile.scorers[0].scorer.typedName.type).toBe('prefix-cache-scorer');
  });

  it('reads static endpoints, objectives and rewrites (Switchboard extensions)', () => {
    const c = parseConfig(`endpoints: ["10.0.0.1:8000", "[::1]:9000", {address: 10.0.0.2, port: 8001, labels: {inference.networking.k8s.io/engine-type: sglang}}]
objectives: [{name: batch, priority: -1}]
modelRewrites: [{model: chat, targets: [{model: a, weight: 90}, {model: b, weight: 10}]}]`);
    expect(c.endpoints).toEqual([
      { address: '10.0.0.1', port: 8000 },
      { address: '::1', port: 9000 },
      { address: '10.0.0.2', port: 8001, labels: { 'inference.networking.k8s.io/engine-type': 'sglang' } },
    ]);
    expect(c.objectives).toEqual([{ name: 'batch', priority: -1 }]);
    expect(c.modelRewrites[0].targets.length).toBe(2);
  });
});

/**
 * The config used when none is given: the Go EPP's blend (prefix 3, queue 2, KV 2) plus
 * Switchboard's prefill-work estimate (2) and LoRA affinity (2), picked by max score; the prefix
 * index hashes every second KV block boundary (half the index work, the same routing). The
 * scorecard (bench/RESULTS.md) chose it: p90 TTFT equal to the Go blend within seed noise on
 * shared prefixes, lower on multi-turn sessions, and far lower with LoRA adapters. Kept as YAML
 * so `switchboard serve --print-config` shows users exactly what runs.
 */
import { parseConfig } from './load.js';
import type { EndpointPickerConfig } from './types.js';

export const DEFAULT_CONFIG_YAML = `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: prefix-cache-scorer
  parameters:
    blocksPerHash: 2
- type: prefill-work-scorer
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: lora-affinity-scorer
- type: max-score-picker
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: prefix-cache-scorer
    weight: 3
  - pluginRef: prefill-work-scorer
    weight: 2
  - pluginRef: queue-scorer
    weight: 2
  - pluginRef: kv-cache-utilization-scorer
    weight: 2
  - pluginRef: lora-affinity-scorer
    weight: 2
  - pluginRef: max-score-picker
`;

/** The default config, parsed. */
export function defaultConfig(): EndpointPickerConfig {
  return parseConfig(DEFAULT_CONFIG_YAML, 'default config');
}

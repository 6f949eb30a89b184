/**
 * The config used when none is given: the Go EPP's default blend (queue 2, KV 2, prefix 3) plus
 * LoRA affinity, picked by max score. Kept as YAML so `switchboard serve --print-config` shows
 * users exactly what runs.
 */
import { parseConfig } from './load.js';
import type { EndpointPickerConfig } from './types.js';

export const DEFAULT_CONFIG_YAML = `apiVersion: inference.networking.x-k8s.io/v1alpha1
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
    weight: 2
  - pluginRef: kv-cache-utilization-scorer
    weight: 2
  - pluginRef: prefix-cache-scorer
    weight: 3
  - pluginRef: lora-affinity-scorer
    weight: 1
  - pluginRef: max-score-picker
`;

/** The default config, parsed. */
export function defaultConfig(): EndpointPickerConfig {
  return parseConfig(DEFAULT_CONFIG_YAML, 'default config');
}

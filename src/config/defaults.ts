/**
 * The config used when none is given: the default scheduling (see default-scheduling.ts) and
 * nothing else, so every other section keeps its own default.
 */
import { DEFAULT_SCHEDULING_YAML } from './default-scheduling.js';
import { parseConfig } from './load.js';
import type { EndpointPickerConfig } from './types.js';

export const DEFAULT_CONFIG_YAML = `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
${DEFAULT_SCHEDULING_YAML}`;

/** The default config, parsed. */
export function defaultConfig(): EndpointPickerConfig {
  return parseConfig(DEFAULT_CONFIG_YAML, 'default config');
}

/**
 * Instantiates every plugin a config declares, once, through the registry: the subsystems then
 * take the instances they need by name or by contract. Every problem (unknown type with the
 * nearest name, bad parameters) is collected and reported at once, naming the entry.
 */
import type { PluginSpec } from '../config/types.js';
import { isSwitchboardError, sbError } from '../errors.js';
import type { ConfigWarning } from '../warnings.js';
import type { Plugin, PluginHandle } from './plugin.js';
import type { PluginRegistry } from './registry.js';

/** The instances of one config, by configured name, in declaration order. */
export type PluginInstances = Map<string, Plugin>;

/** Builds every plugin of `specs`; throws one SB_ERR_CONFIG naming `source` and every failing entry. */
export function instantiatePlugins(specs: readonly PluginSpec[], registry: PluginRegistry, handle: PluginHandle, warnings: ConfigWarning[], source = 'config'): PluginInstances {
  const out: PluginInstances = new Map();
  const problems: string[] = [];
  specs.forEach((spec, i) => {
    const donor = registry.paramsDonor(spec.type);
    const fromDonor = donor !== null ? specs.find((s) => s.type === donor) : undefined;
    const params = fromDonor !== undefined ? { ...fromDonor.parameters, ...spec.parameters } : spec.parameters;
    try {
      out.set(spec.name, registry.create(spec.type, spec.name, params, handle, warnings));
    } catch (err) {
      if (!isSwitchboardError(err)) throw err;
      const at = err.code === 'SB_ERR_UNKNOWN_PLUGIN' ? `plugins[${i}].type` : `plugins[${i}].parameters`;
      problems.push(`${at}: ${err.message.replace(/^invalid config: /, '')}`);
    }
  });
  if (problems.length === 1) throw sbError('SB_ERR_CONFIG', source, problems[0]);
  if (problems.length > 1) throw sbError('SB_ERR_CONFIG', source, `${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return out;
}

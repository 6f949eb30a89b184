/**
 * `--config name=path` entries of `bench` and `plan`: EndpointPickerConfig files that join a
 * comparison as policies of their own.
 */
import { basename, extname } from 'node:path';
import { sbError } from '../errors.js';
import { configWarnings } from '../sim/scorecard/director-router.js';
import { configWarningLines, registerConfigPolicy } from '../sim/scorecard/policies.js';

/** A config-file policy: its name in the comparison and the file. */
export interface ConfigPolicyEntry {
  name: string;
  path: string;
}

/** Parses `name=path` entries; a bare path is named after its file. Bad entries name the flag. */
export function configEntries(entries: readonly string[]): ConfigPolicyEntry[] {
  return entries.map((entry) => {
    const eq = entry.indexOf('=');
    const path = eq < 0 ? entry : entry.slice(eq + 1);
    const name = eq < 0 ? basename(entry, extname(entry)) : entry.slice(0, eq);
    if (name === '' || path === '') throw sbError('SB_ERR_FLAG', 'config', `expected name=path, got "${entry}"`);
    return { name, path };
  });
}

/**
 * Registers each entry as a policy (a file that does not load throws, before any run), writes its
 * coded warnings once through `warn`, and appends names not already in `policies`.
 */
export function joinConfigPolicies(entries: readonly ConfigPolicyEntry[], policies: string[], warn: (s: string) => void): void {
  for (const c of entries) {
    warn(configWarningLines(c.name, c.path, configWarnings(registerConfigPolicy(c.name, c.path))));
    if (!policies.includes(c.name)) policies.push(c.name);
  }
}

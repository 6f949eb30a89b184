/**
 * Policy names the scorecard understands, mapped to router factories.
 *
 * Baselines (round-robin, random, least-request) are implemented in `router.ts`; `go-epp` and
 * `switchboard` route through the real Switchboard director (`director-router.ts`), and any
 * EndpointPickerConfig file can be registered as another policy.
 */
import { sbError } from '../../errors.js';
import { configFilePolicy, DIRECTOR_POLICIES, OPT_IN_POLICIES } from './director-router.js';
import { BASELINES, type RouterFactory } from './router.js';

const registry = new Map<string, RouterFactory>([...Object.entries(BASELINES), ...Object.entries(DIRECTOR_POLICIES), ...Object.entries(OPT_IN_POLICIES)]);
/** Policies run only when named (they need something the default comparison does not model). */
const optIn = new Set(Object.keys(OPT_IN_POLICIES));

/** Registers (or replaces) a named policy. */
export function registerPolicy(name: string, factory: RouterFactory): void {
  registry.set(name, factory);
}

/** Registers the policy of an EndpointPickerConfig file (`--config name=path`); throws if it does not load. */
export function registerConfigPolicy(name: string, path: string): void {
  registry.set(name, configFilePolicy(name, path));
}

/** Names of every registered policy, in registration order. */
export function policyNames(): string[] {
  return [...registry.keys()];
}

/** The default comparison set: every registered policy but the opt-in ones. */
export function defaultPolicies(): string[] {
  return policyNames().filter((n) => !optIn.has(n));
}

/** The factory for `name`; throws SB_ERR_CONFIG for unknown names. */
export function policyFactory(name: string): RouterFactory {
  const f = registry.get(name);
  if (f === undefined) throw sbError('SB_ERR_CONFIG', 'policies', `unknown policy "${name}" (known: ${policyNames().join(', ')})`);
  return f;
}

/**
 * Policy names the scorecard understands, mapped to router factories.
 *
 * Baselines (round-robin, random, least-request) are implemented in `router.ts`; `go-epp` and
 * `switchboard` route through the real Switchboard director (`director-router.ts`), and any
 * EndpointPickerConfig file can be registered as another policy.
 */
import { sbError } from '../../errors.js';
import type { EndpointPickerConfig } from '../../config/types.js';
import type { ConfigWarning } from '../../warnings.js';
import { twinOf } from '../../workload/judge.js';
import { configFilePolicy, DIRECTOR_POLICIES, OPT_IN_POLICIES } from './director-router.js';
import { BASELINES, type Router, type RouterFactory } from './router.js';

const registry = new Map<string, RouterFactory>([...Object.entries(BASELINES), ...Object.entries(DIRECTOR_POLICIES), ...Object.entries(OPT_IN_POLICIES)]);
/** Policies run only when named (they need something the default comparison does not model). */
const optIn = new Set(Object.keys(OPT_IN_POLICIES));

/** Registers (or replaces) a named policy. */
export function registerPolicy(name: string, factory: RouterFactory): void {
  registry.set(name, factory);
}

/**
 * Registers the policy of an EndpointPickerConfig file (`--config name=path`); throws if it does
 * not load. Returns the loaded config, for a command to check once (`configWarnings`) while worker
 * threads, which register it again, skip that build.
 */
export function registerConfigPolicy(name: string, path: string): EndpointPickerConfig {
  const { factory, config } = configFilePolicy(name, path);
  registry.set(name, factory);
  return config;
}

/** One line per warning of config policy `name` (file `path`), for a command to print before its runs. */
export function configWarningLines(name: string, path: string, warnings: readonly ConfigWarning[]): string {
  return warnings.map((w) => `warning: config policy "${name}" (${path}): ${w.message} [${w.code}]\n`).join('');
}

/** Names of every registered policy, in registration order. */
export function policyNames(): string[] {
  return [...registry.keys()];
}

/** The default comparison set: every registered policy but the opt-in ones. */
export function defaultPolicies(): string[] {
  return policyNames().filter((n) => !optIn.has(n));
}

/**
 * The factory for `name`; throws SB_ERR_CONFIG for unknown names. `NAME@K` (K a whole number) is
 * NAME's twin: the same policy with its own tie-break random stream, so a comparison can show how
 * many cells a policy wins or loses against itself by chance alone (the judge's resolution).
 */
export function policyFactory(name: string): RouterFactory {
  const f = registry.get(name);
  if (f !== undefined) return f;
  const original = twinOf(name);
  const base = original === null ? undefined : registry.get(original);
  if (base === undefined) {
    throw sbError('SB_ERR_CONFIG', 'policies', `unknown policy "${name}" (known: ${policyNames().join(', ')}, and NAME@K for a twin of NAME)`);
  }
  const stream = Number(name.slice(name.lastIndexOf('@') + 1));
  return async (ctx) => renamed(await base({ ...ctx, seed: twinSeed(ctx.seed, stream) }), name);
}

/** Throws SB_ERR_CONFIG for the first unknown name: a run checks its list before any work. */
export function checkPolicies(names: readonly string[]): void {
  for (const n of names) policyFactory(n);
}

/** The run seed a twin's router sees: the workload keeps the run's seed, only the router's stream moves. */
function twinSeed(seed: number, stream: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(stream, 0xc2b2ae35)) >>> 0;
}

/** `r` under another name (a twin's results must not merge with its original's). */
function renamed(r: Router, name: string): Router {
  return {
    name,
    route: (input) => r.route(input),
    ...(r.onScrape !== undefined ? { onScrape: r.onScrape.bind(r) } : {}),
    ...(r.onScrapeStarted !== undefined ? { onScrapeStarted: r.onScrapeStarted.bind(r) } : {}),
    ...(r.onKvEvents !== undefined ? { onKvEvents: r.onKvEvents.bind(r) } : {}),
    ...(r.close !== undefined ? { close: r.close.bind(r) } : {}),
  };
}

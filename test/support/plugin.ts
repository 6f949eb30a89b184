/** Runs one plugin directly over a test pool. */
import { CycleState } from '../../src/scheduling/framework/cycle.js';
import { Candidates, type AnyPlugin, type Picker, type Scorer, type Filter } from '../../src/scheduling/framework/plugin.js';
import { registerBuiltinPlugins } from '../../src/builtin-plugins.js';
import type { EndpointPool } from '../../src/pool/pool.js';
import { request } from './scheduling.js';
import { seeded } from './pool.js';
import type { SchedulingRequest } from '../../src/scheduling/framework/cycle.js';

const registry = registerBuiltinPlugins();

/** Builds plugin `type` with `params` over `pool`. */
export function plugin<T extends AnyPlugin>(type: string, pool: EndpointPool, params: Record<string, unknown> = {}, rng = seeded(1)): T {
  return registry.create(type, type, params, { pool, rng }) as unknown as T;
}

/** All pool endpoints as candidates. */
export function allCandidates(pool: EndpointPool): Candidates {
  const c = new Candidates(pool.capacity);
  for (const ep of pool.endpoints()) c.push(ep.slot);
  return c;
}

/** A cycle for `req` over `pool`. */
export function cycle(pool: EndpointPool, req: SchedulingRequest = request('m'), rng = seeded(1)): CycleState {
  return new CycleState(req, pool, pool.clock.now(), rng, null);
}

/** Scores of `scorer` for every endpoint of `pool`, in pool order. */
export function scores(scorer: Scorer, pool: EndpointPool, req?: SchedulingRequest): number[] {
  const c = allCandidates(pool);
  const out = new Float64Array(c.length);
  scorer.score(cycle(pool, req), c, out);
  return [...out];
}

/** Endpoint names a filter keeps. */
export function kept(filter: Filter, pool: EndpointPool, req?: SchedulingRequest): string[] {
  const input = allCandidates(pool);
  const out = new Candidates(pool.capacity);
  filter.filter(cycle(pool, req), input, out);
  return [...out.slots.subarray(0, out.length)].map((s) => pool.atSlot(s)!.name);
}

/** Endpoint names a picker picks for `totals` (pool order). */
export function picks(picker: Picker, pool: EndpointPool, totals: number[], rng = seeded(1)): string[] {
  const c = allCandidates(pool);
  const out = new Int32Array(8);
  const n = picker.pick(cycle(pool, undefined, rng), c, Float64Array.from(totals), out);
  return [...out.subarray(0, n)].map((s) => pool.atSlot(s)!.name);
}

/**
 * The multi-pool director: picks the pool a request goes to, then lets that pool's own director
 * (its admission, profile, prefix and LoRA affinity) pick the endpoint. Both front doors speak to
 * it as to a single pool's director.
 *
 * Spillover: a request goes to the first pool of its objective's policy that is available and
 * not saturated (hysteresis in `PoolGate`); a pool coming back after an outage takes its share
 * back gradually. When every allowed pool is saturated the policy decides: `admit` hands the
 * request to the preferred saturated pool (its flow control queues it, legacy shedding drops it
 * if sheddable), `shed` answers 429. A pool whose director finds no candidate (every endpoint
 * excluded by retries, none in the gateway's subset) passes the request to the next pool.
 */
import { sbError } from '../errors.js';
import type { Decision, Director, InferenceRequest, RoutedDecision } from '../director/types.js';
import type { Clock } from '../pool/pool.js';
import { OBJECTIVE_HEADER } from '../request/headers.js';
import type { Switchboard } from '../switchboard.js';
import type { PoolMetrics, SpillReason } from '../telemetry/pool-metrics.js';
import type { PoolChoice } from '../scheduling/framework/explain.js';
import type { PoolGate } from './pool-gate.js';

/** One pool in the picker. */
export interface PoolMember {
  name: string;
  core: Switchboard;
  gate: PoolGate;
}

/** A spill policy compiled to members. */
export interface CompiledPolicy {
  /** Metric label: the objective, or `default`. */
  label: string;
  members: PoolMember[];
  whenSaturated: 'admit' | 'shed';
}


/** Reject codes after which the next pool may still serve the request. */
const NEXT_POOL_CODES = new Set(['SB_ERR_NO_CANDIDATES', 'SB_ERR_DATASTORE_EMPTY']);

export class MultiPoolDirector implements Director {
  private readonly byObjective: Map<string, CompiledPolicy>;

  constructor(
    private readonly clock: Clock,
    private readonly defaultPolicy: CompiledPolicy,
    policies: readonly CompiledPolicy[],
    private readonly metrics: PoolMetrics | null,
  ) {
    this.byObjective = new Map(policies.map((p) => [p.label, p]));
  }

  async handleRequest(req: InferenceRequest): Promise<Decision> {
    const objective = req.headers.get(OBJECTIVE_HEADER);
    const policy = (objective !== undefined ? this.byObjective.get(objective) : undefined) ?? this.defaultPolicy;
    const now = this.clock.now();
    const members = policy.members;
    const preferred = members[0];

    // The first available pool with headroom whose ramp lets this request through.
    let chosen: PoolMember | null = null;
    let reason: SpillReason | null = null;
    let ramping: PoolMember | null = null;
    let saturated: PoolMember | null = null;
    let anyEndpoints: PoolMember | null = null;
    for (let i = 0; i < members.length; i++) {
      const m = members[i];
      const st = m.gate.evaluate(now);
      if (st === 'ok') {
        if (m.gate.takes(now)) {
          chosen = m;
          break;
        }
        reason ??= 'ramp';
        ramping ??= m;
        continue;
      }
      reason ??= st;
      if (st === 'saturated') saturated ??= m;
      if (st === 'unhealthy') anyEndpoints ??= m;
    }
    if (chosen === null) {
      if (ramping !== null) chosen = ramping;
      else if (saturated !== null) {
        // Nowhere with headroom: the policy says wait in (or be shed by) the saturated pool, or go.
        this.metrics?.denied(saturated.name, policy.whenSaturated, policy.label);
        if (policy.whenSaturated === 'shed') return { kind: 'reject', error: sbError('SB_ERR_POOLS_SATURATED', policy.label) };
        chosen = saturated;
      } else if (anyEndpoints !== null) chosen = anyEndpoints; // nothing scraped well: its own director falls back on in-flight counts
      else return { kind: 'reject', error: sbError('SB_ERR_NO_CANDIDATES') };
    }
    if (chosen === preferred) reason = null;

    let decision = await chosen.core.director.handleRequest(req);
    // No candidate in the chosen pool (retries excluded its endpoints, a subset hint names none):
    // the pools after it, in the policy's order.
    for (let i = members.indexOf(chosen) + 1; decision.kind === 'reject' && NEXT_POOL_CODES.has(decision.error.code) && i < members.length; i++) {
      const m = members[i];
      if (m.core.pool.size === 0) continue;
      reason ??= 'no_candidates';
      chosen = m;
      decision = await m.core.director.handleRequest(req);
    }
    if (decision.kind !== 'route') return decision;
    this.metrics?.routed(chosen.name, policy.label);
    if (chosen !== preferred) this.metrics?.spilled(preferred.name, chosen.name, reason ?? 'no_candidates', policy.label);
    if (decision.explanation !== null) return this.explained(decision, chosen, preferred, reason, members, now);
    return decision;
  }

  private explained(d: RoutedDecision, chosen: PoolMember, preferred: PoolMember, reason: SpillReason | null, members: readonly PoolMember[], now: number): RoutedDecision {
    const pool: PoolChoice = {
      pool: chosen.name,
      preferred: preferred.name,
      spillReason: chosen === preferred ? null : (reason ?? 'no_candidates'),
      // Pools after the chosen one were not looked at for the pick; they are for the explanation.
      pools: members.map((m) => ({
        name: m.name,
        state: m.gate.evaluate(now),
        saturation: m.gate.saturation(),
        rampShare: m.gate.rampShare(now),
      })),
    };
    return { ...d, explanation: { ...(d.explanation as NonNullable<RoutedDecision['explanation']>), pool } };
  }
}

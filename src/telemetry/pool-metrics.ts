/**
 * Metrics of several pools in one picker (`pools:` in the config): requests served per pool,
 * spills with the reason, requests held in a saturated pool because their objective may not
 * spill, and each pool's saturation, hysteresis state and availability. The pool is the `name`
 * label, as on the Go EPP's `inference_pool_*` gauges, so dashboards join them on it.
 */
import { Gauge, type Registry } from 'prom-client';
import { FastCounter } from './fast-metrics.js';

/** Why a request left its preferred pool (or was held in it). */
export type SpillReason = 'saturated' | 'no_endpoints' | 'unhealthy' | 'ramp' | 'no_candidates';

/** What the gauges read of one pool at scrape time. */
export interface PoolGaugeSource {
  name: string;
  region: string;
  accelerator: string;
  costRank: number;
  /** Saturation as the pool's detector read it last (0 idle, 1 at its limits). */
  saturation(): number;
  /** Whether the pool is in the saturated state (hysteresis). */
  saturated(): boolean;
  /** Whether the pool has endpoints with healthy, fresh metrics. */
  available(): boolean;
}

export class PoolMetrics {
  private readonly requests: FastCounter;
  private readonly spills: FastCounter;
  private readonly held: FastCounter;

  constructor(registry: Registry, pools: readonly PoolGaugeSource[]) {
    this.requests = new FastCounter('switchboard_pool_requests_total', 'Requests routed to each pool, by objective policy.', ['name', 'objective'], registry);
    this.spills = new FastCounter(
      'switchboard_pool_spills_total',
      'Requests that left their preferred pool (name) for another (to), by reason: saturated, no_endpoints, unhealthy, ramp (the pool is coming back), no_candidates.',
      ['name', 'to', 'reason', 'objective'],
      registry,
    );
    this.held = new FastCounter(
      'switchboard_pool_spill_denied_total',
      "Requests kept in (action=admit) or shed from (action=shed) a saturated preferred pool because their objective's policy allows no pool with headroom.",
      ['name', 'action', 'objective'],
      registry,
    );
    const gauge = (name: string, help: string, value: (p: PoolGaugeSource) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['name'],
        registers: [registry],
        collect() {
          for (const p of pools) this.set({ name: p.name }, value(p));
        },
      });
    gauge('switchboard_pool_saturation', "Each pool's saturation as its detector reads it over its healthy endpoints (1 = at the detector's limits).", (p) => p.saturation());
    gauge('switchboard_pool_saturated', 'Whether the pool is in the saturated state (1) and takes only requests that cannot spill; hysteresis between spillover.enterSaturation and exitSaturation.', (p) => (p.saturated() ? 1 : 0));
    gauge('switchboard_pool_available', 'Whether the pool has endpoints with healthy, fresh metrics (1) or is skipped (0).', (p) => (p.available() ? 1 : 0));
    const info = new Gauge({
      name: 'switchboard_pool_info',
      help: 'Attributes of each pool: region, accelerator and cost rank (lower is preferred by default).',
      labelNames: ['name', 'region', 'accelerator', 'cost_rank'],
      registers: [registry],
    });
    for (const p of pools) info.set({ name: p.name, region: p.region, accelerator: p.accelerator, cost_rank: String(p.costRank) }, 1);
  }

  routed(pool: string, objective: string): void {
    this.requests.labels(pool, objective).inc();
  }

  spilled(from: string, to: string, reason: SpillReason, objective: string): void {
    this.spills.labels(from, to, reason, objective).inc();
  }

  denied(pool: string, action: 'admit' | 'shed', objective: string): void {
    this.held.labels(pool, action, objective).inc();
  }
}

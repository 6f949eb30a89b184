/**
 * Several picker replicas behind one Service: N independent routers built from one factory
 * (for director policies, N independent Switchboard cores with their own pools, prefix indexes
 * and in-flight counts), requests spread over them round-robin as a Service would. Each
 * replica hears every metrics scrape, as each real replica scrapes every pod.
 */
import type { RouteInput, Router, RouterFactory } from './router.js';

/** A factory for `replicas` copies of `factory`'s router, named `<name>×<replicas>`. */
export function replicated(factory: RouterFactory, replicas: number): RouterFactory {
  if (replicas === 1) return factory;
  return async (ctx) => {
    const routers: Router[] = [];
    // Distinct seeds: replicas break ties differently, as separate processes would.
    for (let i = 0; i < replicas; i++) routers.push(await factory({ ...ctx, seed: (ctx.seed + i * 7919) >>> 0 }));
    let next = 0;
    return {
      name: `${routers[0].name}×${replicas}`,
      route(input: RouteInput) {
        const r = routers[next];
        next = (next + 1) % replicas;
        return r.route(input);
      },
      onScrape(pod, state, now) {
        for (const r of routers) r.onScrape?.(pod, state, now);
      },
      onScrapeStarted(pod, now) {
        for (const r of routers) r.onScrapeStarted?.(pod, now);
      },
      async close() {
        for (const r of routers) await r.close?.();
      },
    };
  };
}

/**
 * Switchboard's proxy front door as the benchmark runs it: the real core from the default
 * config (director, scheduler, 50 ms scrape loop on the pod's /metrics, Prometheus telemetry)
 * with one pod, behind the harness's `startProxy`. With `pass-through` as second argument the core is
 * replaced by `PassThroughDirector`, leaving the front door's own cost. With `dashboard` the live
 * dashboard is on as well and its port is printed as `dashboard=<n>` (the bench connects a viewer).
 *
 * Runs as its own process: `node switchboard-proxy.js <podPort> [pass-through|dashboard]` prints
 * `port=<n>` when it listens.
 */
import { startCore, startProxy } from '../../harness/index.js';
import type { Director } from '../../src/director/types.js';
import { EndpointPool } from '../../src/pool/pool.js';
import { DecisionLog } from '../../src/telemetry/dashboard/decisions.js';
import { serveDashboard } from './dashboard-viewer.js';
import { PassThroughDirector } from './pass-through-director.js';

const podPort = Number(process.argv[2]);
const passThrough = process.argv[3] === 'pass-through';
const endpoints = [{ address: '127.0.0.1', port: podPort }];
let director: Director;
let pool: EndpointPool;
let registry = null;
if (passThrough) {
  pool = new EndpointPool();
  pool.setEndpoints(endpoints);
  director = new PassThroughDirector(pool);
} else {
  const decisions = process.argv[3] === 'dashboard' ? new DecisionLog() : null;
  // Synced at once (no wait for the first scrape), as the bench always ran it.
  const core = await startCore({ endpoints, collector: { intervalMs: 50 }, decisions, scrapedWithinMs: 0 });
  ({ pool, director } = core);
  registry = core.telemetry?.registry ?? null;
  if (decisions !== null) process.stdout.write(`dashboard=${await serveDashboard(core, decisions, 'switchboard')}\n`);
}
pool.markSynced();
const proxy = await startProxy(director, pool, { registry });
process.stdout.write(`port=${proxy.address.port}\ndirector=${passThrough ? 'pass-through' : 'real (default config, telemetry on)'}\n`);

// Exit normally on SIGTERM so --cpu-prof and other exit hooks run.
process.on('SIGTERM', () => process.exit(0));

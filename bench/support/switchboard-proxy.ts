/**
 * Switchboard's proxy front door as the benchmark runs it: one pod in the endpoint pool, the
 * director, `startProxyServer`.
 *
 * Runs as its own process: `node switchboard-proxy.js <podPort>` prints `port=<n>` when it listens.
 */
import { EndpointPool } from '../../src/pool/pool.js';
import { startProxyServer } from '../../src/frontends/proxy/index.js';
import { benchDirector } from './bench-director.js';

const podPort = Number(process.argv[2]);
const pool = new EndpointPool();
pool.setEndpoints([{ address: '127.0.0.1', port: podPort }]);
pool.markSynced();
const { director, kind } = await benchDirector(pool);
const proxy = await startProxyServer({ director, pool, port: 0, host: '127.0.0.1' });
process.stdout.write(`port=${proxy.address.port}\ndirector=${kind}\n`);

// Exit normally on SIGTERM so --cpu-prof and other exit hooks run.
process.on('SIGTERM', () => process.exit(0));

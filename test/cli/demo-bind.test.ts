/** `serve --demo` (what `npm start` runs) listens on loopback unless --bind-address opens it. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseFlags } from '../../src/cli/flags.js';
import { SERVE_FLAGS } from '../../src/cli/serve-flags.js';
import { startServe, stopAll, type Closable } from '../../src/cli/serve.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { createLogger } from '../../src/telemetry/logger.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  vi.restoreAllMocks();
});

describe('demo binding', () => {
  it('binds every demo listener to 127.0.0.1 by default', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const flags = parseFlags(SERVE_FLAGS, ['--demo', '--demo-pods=1', '--grpc-port=0', '--grpc-health-port=0', '--metrics-port=0', '--proxy-port=0']);
    const logger = createLogger('silent');
    const started = await startServe(flags, defaultConfig(), logger);
    cleanup.push(() => stopAll(started.closables as Closable[], logger));
    expect(flags.values['bind-address']).toBe('127.0.0.1');
    expect(started.proxyUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(started.core.pool.endpoints()).toHaveLength(1);
    for (const e of started.core.pool.endpoints()) expect(e.address).toBe('127.0.0.1');
  });

  it('keeps an explicit --bind-address, and non-demo serve keeps 0.0.0.0 (it runs in pods)', () => {
    expect(parseFlags(SERVE_FLAGS, []).values['bind-address']).toBe('0.0.0.0');
    const f = parseFlags(SERVE_FLAGS, ['--demo', '--bind-address=0.0.0.0']);
    expect(f.given.has('bind-address')).toBe(true);
    expect(f.values['bind-address']).toBe('0.0.0.0');
  });
});

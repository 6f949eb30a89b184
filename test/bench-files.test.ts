/**
 * Every scenario, family case and config file shipped under bench/ loads: a user replays them
 * with `switchboard bench --scenario FILE` or `--config name=FILE`, so a stale field must fail here
 * and not in their hands.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { registerBuiltinPlugins } from '../src/builtin-plugins.js';
import { loadConfigFile } from '../src/config/load.js';
import { EndpointPool } from '../src/pool/pool.js';
import { buildScheduling } from '../src/scheduling/build.js';
import { loadScenario } from '../src/workload/scenario.js';

const bench = fileURLToPath(new URL('../bench/', import.meta.url));
const yamls = (dir: string) =>
  readdirSync(join(bench, dir))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(dir, f));

describe('files shipped under bench/', () => {
  const scenarios = [...yamls('scenarios'), ...yamls('scenarios/confirm'), ...yamls('families/cases')];
  it.each(scenarios)('scenario %s loads', (f) => {
    expect(loadScenario(join(bench, f)).name.length).toBeGreaterThan(0);
  });

  it.each(yamls('scenarios/configs'))('config %s loads and builds its scheduling', (f) => {
    const cfg = loadConfigFile(join(bench, f));
    const built = buildScheduling(cfg, { pool: new EndpointPool(), rng: Math.random }, { registry: registerBuiltinPlugins() });
    expect(built.profile.picker).toBeDefined();
  });
});

import { describe, expect, it } from 'vitest';
import { isSwitchboardError } from '../../src/errors.js';
import { parseBenchFlags } from '../../src/cli/bench.js';
import { parseSimFlags } from '../../src/cli/sim.js';

function flagError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(isSwitchboardError(e)).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected a flag error');
}

describe('switchboard sim flags', () => {
  it('parses fleet, engine, LoRA and fault flags in both --name value and --name=value forms', () => {
    const o = parseSimFlags([
      '--pods',
      '3',
      '--base-port=9000',
      '--num-gpu-blocks',
      '500',
      '--enable-prefix-caching=false',
      '--lora-modules',
      'sql=/a/sql,chat',
      '--lora-adapters',
      '2',
      '--metrics-lag-ms',
      '100',
      '--drop-rate=0.1',
    ]);
    expect(o).toMatchObject({
      pods: 3,
      basePort: 9000,
      engine: { numGpuBlocks: 500, enablePrefixCaching: false },
      faults: { metricsLagMs: 100, dropRate: 0.1 },
    });
    if (o === 'help') throw new Error('unexpected help');
    expect(o.loraModules).toEqual([{ name: 'sql', path: '/a/sql' }, { name: 'chat' }, { name: 'adapter-0' }, { name: 'adapter-1' }]);
    expect(parseSimFlags(['--help'])).toBe('help');
  });

  it('rejects bad values with the flag named', () => {
    expect(flagError(() => parseSimFlags(['--pods', 'many']))).toMatch(/--pods/);
    expect(flagError(() => parseSimFlags(['--base-port', '65535', '--pods', '2']))).toMatch(/base-port/);
    expect(flagError(() => parseSimFlags(['--no-such-flag']))).toMatch(/no-such-flag/);
    expect(flagError(() => parseSimFlags(['--enable-prefix-caching', 'maybe']))).toMatch(/enable-prefix-caching/);
  });
});

describe('switchboard bench flags', () => {
  it('parses scenario, policies, config policies and seeds', () => {
    const f = parseBenchFlags(['--scenario', 'x.yaml', '--policies', 'round-robin,switchboard', '--config', 'mine=a.yaml,b.yaml', '--seeds', '1,2,3']);
    expect(f).toEqual({
      scenario: 'x.yaml',
      trace: null,
      traceSpeed: 1,
      generate: 0,
      family: null,
      familySeed: null,
      jobs: 0,
      draws: null,
      reuse: null,
      policies: ['round-robin', 'switchboard'],
      configs: [
        { name: 'mine', path: 'a.yaml' },
        { name: 'b', path: 'b.yaml' },
      ],
      seeds: [1, 2, 3],
      replicas: [1],
      out: null,
      quiet: false,
      tracePicks: false,
      kvEvents: { delayMs: 5, loss: 0 },
    });
    expect(parseBenchFlags(['--scenario', 'x.yaml', '--trace-picks'])).toMatchObject({ tracePicks: true });
    expect(parseBenchFlags(['--scenario', 'x.yaml', '--replicas', '1,2,4'])).toMatchObject({ replicas: [1, 2, 4] });
    expect(parseBenchFlags(['--scenario', 'x.yaml', '--kv-events-delay', '20ms', '--kv-events-loss', '0.1'])).toMatchObject({ kvEvents: { delayMs: 20, loss: 0.1 } });
  });

  it('requires a scenario and valid seeds', () => {
    expect(flagError(() => parseBenchFlags([]))).toMatch(/scenario/);
    expect(flagError(() => parseBenchFlags(['--scenario', 'x', '--seeds', '1,x']))).toMatch(/seeds/);
    expect(flagError(() => parseBenchFlags(['--scenario', 'x', '--replicas', '0']))).toMatch(/replicas/);
  });
});

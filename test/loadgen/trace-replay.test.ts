/**
 * Trace replay through `switchboard load` against real simulated pods (HTTP on loopback) and
 * through `switchboard bench` in virtual time: every record is sent with its lengths, adapter
 * and tenant, and the shared prefix of a group is served from the prefix cache.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runBench } from '../../src/cli/bench.js';
import { runLoad } from '../../src/cli/load.js';
import type { Report } from '../../src/loadgen/report.js';
import { startSimFleet, type SimFleet } from '../../src/sim/pod/fleet.js';

let fleet: SimFleet;
const dir = mkdtempSync(join(tmpdir(), 'sb-trace-replay-'));
const trace = join(dir, 'trace.jsonl');

// 12 requests over 1.1 s: two prefix groups, an adapter, two tenants.
const LINES = Array.from({ length: 12 }, (_, i) =>
  JSON.stringify({
    offset_ms: 5000 + i * 100,
    input_tokens: 300 + i,
    output_tokens: 3 + (i % 4),
    ...(i % 3 === 2 ? {} : { prefix_group: `g${i % 3}`, prefix_tokens: 256 }),
    ...(i % 4 === 3 ? { adapter: 'sql-lora' } : {}),
    tenant: i % 2 === 0 ? 'team-a' : 'team-b',
  }),
);

beforeAll(async () => {
  writeFileSync(trace, LINES.join('\n') + '\n');
  fleet = await startSimFleet({ pods: 1, modelName: 'sim', loraModules: [{ name: 'sql-lora' }] });
});

afterAll(async () => {
  await fleet.close();
  rmSync(dir, { recursive: true, force: true });
});

function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  return fn().finally(() => out.mockRestore());
}

describe('trace replay', () => {
  it('load sends every record to a real server with its lengths, adapter and tenant', async () => {
    const out = join(dir, 'load');
    const code = await quietly(() => runLoad(['--trace', trace, '--url', fleet.pods[0].url, '--out', out, '--quiet', '--drain', '10']));
    expect(code).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    const o = report.runs[0].overall;
    expect(o.requests).toBe(12);
    expect(o.succeeded).toBe(12);
    // Output lengths as recorded: 3+4+5+6 three times.
    expect(o.outputTokensPerS * o.durationS).toBeCloseTo(54, 0);
    expect(report.runs[0].breakdowns.byAdapter.find((b) => b.key === 'sql-lora')?.requests).toBe(3);
    expect(report.runs[0].breakdowns.byTenant.map((b) => [b.key, b.requests]).sort()).toEqual([['team-a', 6], ['team-b', 6]]);
    // Later base-model requests of a group find its 256-token prefix cached (one pod serves them
    // all; adapter requests have their own cache). Unshared synthetic prompts would hit nothing;
    // how many hits depends on whether the group's previous request was already prefilled.
    expect(o.prefixHitRate).toBeGreaterThan(0.1);
  });

  it('bench replays the same trace in virtual time, faster with --trace-speed', async () => {
    const out = join(dir, 'bench');
    const code = await quietly(() => runBench(['--trace', trace, '--trace-speed', '4', '--policies', 'least-request', '--out', out, '--quiet']));
    expect(code).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    expect(report.scenario.stages).toHaveLength(1);
    expect(report.scenario.stages[0].durationS).toBeCloseTo(1.1 / 4 + 0.001, 3);
    expect(report.runs[0].overall.requests).toBe(12);
    expect(report.runs[0].overall.succeeded).toBe(12);
  });

  it('a bad line stops the run with its line number', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, `${LINES[0]}\n${LINES[1].replace('"input_tokens"', '"input_tokenz"')}\n`);
    await expect(runBench(['--trace', bad, '--quiet'])).rejects.toThrow(`invalid config: ${bad}:2: input_tokenz: unknown field`);
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { calibrationOf, readStored, runsOf, scenarioBody, writeRuns, type StoredCalibration } from '../../src/loadgen/run-store.js';
import type { RunReport } from '../../src/loadgen/report.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-run-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A run with the fields a reuse checks, and numbers JSON cannot write as they are. */
const run = (policy: string): RunReport =>
  ({
    policy,
    seed: 3,
    stages: [{ index: 0, ttftP99: Number.NaN }],
    overall: { ttftP90: 12.5, loraLoads: Number.NaN, worst: Number.POSITIVE_INFINITY, best: Number.NEGATIVE_INFINITY },
    engine: null,
    wallMs: 7,
    failures: [],
    breakdowns: { byAdapter: [], byTurn: [], byTenant: [] },
  }) as unknown as RunReport;

/** Reads a draw's file once, as `bench --generate --reuse` does, and takes its runs or its calibration. */
const readRuns = (at: string, build: string, text: string) => runsOf(readStored(at, build), text);
const readCalibration = (at: string, build: string, key: string) => calibrationOf(readStored(at, build), key);

const SCENARIO = '# Replay: switchboard bench --scenario /somewhere/x.yaml\nname: x\nfleet: { pods: 2 }\n';

describe('run store', () => {
  it('keeps every number, null and the runs exactly, whatever the comment lines say', () => {
    writeRuns(dir, 'b1', SCENARIO, [run('least-request'), run('go-epp')]);
    const got = readRuns(dir, 'b1', SCENARIO.replace('/somewhere/', '/elsewhere/'));
    expect(got).toEqual({ runs: [run('least-request'), run('go-epp')] });
    expect(scenarioBody(SCENARIO)).toBe('name: x\nfleet: { pods: 2 }\n');
  });

  it('gives a reason instead of runs for anything it cannot trust', () => {
    writeRuns(dir, 'b1', SCENARIO, [run('least-request')]);
    expect(readRuns(dir, 'b2', SCENARIO)).toEqual({ reason: 'made by another build (b1, this is b2)' });
    expect(readRuns(dir, 'b1', SCENARIO.replace('pods: 2', 'pods: 3'))).toEqual({ reason: 'made for a different scenario file' });
    expect(readRuns(join(dir, 'none'), 'b1', SCENARIO)).toEqual({ reason: 'no runs.json' });
    const file = join(dir, 'runs.json');
    writeFileSync(file, '[1, 2');
    expect(readRuns(dir, 'b1', SCENARIO)).toMatchObject({ reason: expect.stringMatching(/^runs\.json is not JSON \(/) });
    writeFileSync(file, 'null');
    expect(readRuns(dir, 'b1', SCENARIO)).toEqual({ reason: 'runs.json is not an object' });
    writeFileSync(file, JSON.stringify({ format: 2, build: 'b1', scenario: scenarioBody(SCENARIO), runs: [] }));
    expect(readRuns(dir, 'b1', SCENARIO)).toEqual({ reason: 'runs.json has format 2, not 1' });
    writeFileSync(file, JSON.stringify({ format: 1, build: 'b1', scenario: scenarioBody(SCENARIO), runs: [{ policy: 'x', seed: '1' }] }));
    expect(readRuns(dir, 'b1', SCENARIO)).toEqual({ reason: 'runs.json has a malformed run' });
    writeFileSync(file, JSON.stringify({ format: 1, build: 'b1', scenario: scenarioBody(SCENARIO), runs: 'all' }));
    expect(readRuns(dir, 'b1', SCENARIO)).toEqual({ reason: 'runs.json has a malformed run' });
  });

  it('keeps the draw\'s calibration for the same build and draw only, and says why it cannot be used', () => {
    const cal: StoredCalibration = { key: 'k1', capacity: 12.5, serviceMs: Number.NaN, rungs: [{ rate: 2, holds: true }, { rate: 4, holds: false }] };
    const at = join(dir, 'cal');
    mkdirSync(at);
    writeRuns(at, 'b1', SCENARIO, [run('least-request')], cal);
    expect(readCalibration(at, 'b1', 'k1')).toEqual({ calibration: cal });
    expect(readCalibration(at, 'b1', 'k2')).toEqual({ reason: 'calibrated for a different draw' });
    expect(readCalibration(at, 'b2', 'k1')).toEqual({ reason: 'made by another build (b1, this is b2)' });
    // Its runs are still read as before.
    expect(readRuns(at, 'b1', SCENARIO)).toEqual({ runs: [run('least-request')] });
    writeRuns(at, 'b1', SCENARIO, [run('least-request')]);
    expect(readCalibration(at, 'b1', 'k1')).toEqual({ reason: 'runs.json keeps no calibration' });
    const file = join(at, 'runs.json');
    for (const bad of [{ ...cal, capacity: 0 }, { ...cal, capacity: 'fast' }, { ...cal, rungs: [{ rate: 2 }] }, { ...cal, key: 7 }, 'cal']) {
      writeFileSync(file, JSON.stringify({ format: 1, build: 'b1', scenario: scenarioBody(SCENARIO), runs: [], calibration: bad }));
      expect(readCalibration(at, 'b1', 'k1')).toEqual({ reason: 'runs.json has a malformed calibration' });
    }
    expect(readCalibration(join(dir, 'none'), 'b1', 'k1')).toEqual({ reason: 'no runs.json' });
  });
});

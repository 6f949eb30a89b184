/**
 * Stored runs of a generated draw (`runs.json` beside its report), kept so that a later
 * `bench --generate --reuse DIR` can take a policy's runs instead of running them again. Unlike
 * `report.json`, which writes NaN as null, the file keeps every number exactly, and it names the
 * build that made the runs: a run is reused only by the same build on the same scenario file.
 * It also keeps the draw's calibration, keyed by the drawn scenario it was made for, so a reuse
 * can skip the calibration ladder too (most of a single policy's cost on a draw).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunReport } from './report.js';

export const RUNS_FILE = 'runs.json';
const FORMAT = 1;

interface Stored {
  format: number;
  build: string;
  /** The scenario file's text without its comment lines (paths and times live in those). */
  scenario: string;
  runs: RunReport[];
  /** Absent in files written before calibrations were kept. */
  calibration?: StoredCalibration;
}

/** A draw's calibration result, enough to write the same scenario file again. */
export interface StoredCalibration {
  /** What was calibrated: a digest of the drawn scenario and the ladder's settings. */
  key: string;
  capacity: number;
  serviceMs: number;
  /** The ladder, for the file's header. */
  rungs: Array<{ rate: number; holds: boolean }>;
}

/** The scenario text a reuse compares: comment lines out (they name the output folder). */
export function scenarioBody(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}

/** Writes `dir/runs.json`. Non-finite numbers are written as {"$num": "NaN"} and read back as such. */
export function writeRuns(dir: string, build: string, scenarioText: string, runs: readonly RunReport[], calibration?: StoredCalibration): void {
  const stored: Stored = { format: FORMAT, build, scenario: scenarioBody(scenarioText), runs: [...runs], calibration };
  writeFileSync(join(dir, RUNS_FILE), JSON.stringify(stored, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $num: String(v) } : v)));
}

/** What a reuse found for one draw: its runs, or why none can be used. */
export type StoredRuns = { runs: RunReport[] } | { reason: string };

/** A draw's `runs.json` as read once: the parsed file this build may use, or why it may not. */
export type StoredDraw = { stored: Partial<Stored> } | { reason: string };

/**
 * The runs of a file already read (`readStored`), for a scenario of text `scenarioText`. Anything
 * missing, malformed, from another build or for another scenario text gives a reason, never a
 * throw: the draw's runs then run again.
 */
export function runsOf(s: StoredDraw, scenarioText: string): StoredRuns {
  if ('reason' in s) return s;
  if (s.stored.scenario !== scenarioBody(scenarioText)) return { reason: 'made for a different scenario file' };
  if (!Array.isArray(s.stored.runs) || !s.stored.runs.every(isRun)) return { reason: `${RUNS_FILE} has a malformed run` };
  return { runs: s.stored.runs };
}

/** What a reuse found for one draw's calibration. */
export type StoredCal = { calibration: StoredCalibration } | { reason: string };

/**
 * The calibration a file already read keeps for the drawn scenario `key`; like `runsOf`, anything
 * it cannot trust gives a reason (the draw is then calibrated again).
 */
export function calibrationOf(s: StoredDraw, key: string): StoredCal {
  if ('reason' in s) return s;
  const c = s.stored.calibration;
  if (c === undefined) return { reason: `${RUNS_FILE} keeps no calibration` };
  if (!isCalibration(c)) return { reason: `${RUNS_FILE} has a malformed calibration` };
  if (c.key !== key) return { reason: 'calibrated for a different draw' };
  return { calibration: c };
}

/** Reads and parses `dir/runs.json` once; the runs and the calibration are then taken from it. */
export function readStored(dir: string, build: string): StoredDraw {
  const file = join(dir, RUNS_FILE);
  if (!existsSync(file)) return { reason: `no ${RUNS_FILE}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'), (_k, v: unknown) => {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const keys = Object.keys(v);
        if (keys.length === 1 && keys[0] === '$num') return Number((v as { $num: unknown }).$num);
      }
      return v;
    });
  } catch (e) {
    return { reason: `${RUNS_FILE} is not JSON (${(e as Error).message})` };
  }
  if (parsed === null || typeof parsed !== 'object') return { reason: `${RUNS_FILE} is not an object` };
  const s = parsed as Partial<Stored>;
  if (s.format !== FORMAT) return { reason: `${RUNS_FILE} has format ${String(s.format)}, not ${FORMAT}` };
  if (s.build !== build) return { reason: `made by another build (${String(s.build)}, this is ${build})` };
  return { stored: s };
}

/** The fields a reused calibration must have to write the scenario file again. */
function isCalibration(c: unknown): c is StoredCalibration {
  if (c === null || typeof c !== 'object') return false;
  const x = c as Partial<StoredCalibration>;
  return (
    typeof x.key === 'string' &&
    typeof x.capacity === 'number' &&
    Number.isFinite(x.capacity) &&
    x.capacity > 0 &&
    typeof x.serviceMs === 'number' &&
    Array.isArray(x.rungs) &&
    x.rungs.every((r: unknown) => r !== null && typeof r === 'object' && typeof (r as { rate: unknown }).rate === 'number' && typeof (r as { holds: unknown }).holds === 'boolean')
  );
}

/** The fields a reused run must have for the report and the judge. */
function isRun(r: unknown): r is RunReport {
  if (r === null || typeof r !== 'object') return false;
  const x = r as Partial<RunReport>;
  return (
    typeof x.policy === 'string' &&
    typeof x.seed === 'number' &&
    Array.isArray(x.stages) &&
    x.overall !== null &&
    typeof x.overall === 'object' &&
    typeof x.wallMs === 'number' &&
    Array.isArray(x.failures) &&
    x.breakdowns !== null &&
    typeof x.breakdowns === 'object'
  );
}

/**
 * Stored runs of a generated draw (`runs.json` beside its report), kept so that a later
 * `bench --generate --reuse DIR` can take a policy's runs instead of running them again. Unlike
 * `report.json`, which writes NaN as null, the file keeps every number exactly, and it names the
 * build that made the runs: a run is reused only by the same build on the same scenario file.
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
}

/** The scenario text a reuse compares: comment lines out (they name the output folder). */
export function scenarioBody(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}

/** Writes `dir/runs.json`. Non-finite numbers are written as {"$num": "NaN"} and read back as such. */
export function writeRuns(dir: string, build: string, scenarioText: string, runs: readonly RunReport[]): void {
  const stored: Stored = { format: FORMAT, build, scenario: scenarioBody(scenarioText), runs: [...runs] };
  writeFileSync(join(dir, RUNS_FILE), JSON.stringify(stored, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $num: String(v) } : v)));
}

/** What a reuse found for one draw: its runs, or why none can be used. */
export type StoredRuns = { runs: RunReport[] } | { reason: string };

/**
 * Reads `dir/runs.json` for a scenario of text `scenarioText` under build `build`. Anything
 * missing, malformed, from another build or for another scenario text gives a reason, never a
 * throw: the draw's runs then run again.
 */
export function readRuns(dir: string, build: string, scenarioText: string): StoredRuns {
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
  if (s.scenario !== scenarioBody(scenarioText)) return { reason: 'made for a different scenario file' };
  if (!Array.isArray(s.runs) || !s.runs.every(isRun)) return { reason: `${RUNS_FILE} has a malformed run` };
  return { runs: s.runs };
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

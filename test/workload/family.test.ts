import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isSwitchboardError } from '../../src/errors.js';
import { arrivalsFor, calibrationDoc, drawScenario, parseFamily, scenarioDoc, type Family } from '../../src/workload/family.js';
import { buildScenario } from '../../src/workload/scenario.js';

const DEFAULT = readFileSync(new URL('../../bench/families/default.yaml', import.meta.url), 'utf8');
const family = parseFamily(DEFAULT, 'default.yaml');

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(isSwitchboardError(e)).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('workload families', () => {
  it('parses the shipped default family (format 1)', () => {
    expect(family.version).toBe(1);
    expect(family.name).toBe('default');
    expect(family.measuredPerPod).toBeGreaterThan(0);
  });

  it('draws deterministically: same family, seed and index give the same scenario; the first k of N do not depend on N', () => {
    const a = drawScenario(family, 7);
    const b = drawScenario(family, 7);
    expect(a).toEqual(b);
    expect(drawScenario(family, 8)).not.toEqual(a);
    expect(drawScenario(family, 7, 99)).not.toEqual(a);
    expect(scenarioDoc(family, a, 40, 'x')).toEqual(scenarioDoc(family, b, 40, 'x'));
  });

  it('spans the ranges the family names, and every draw is a valid scenario', () => {
    const drafts = Array.from({ length: 200 }, (_, i) => drawScenario(family, i));
    const docs = drafts.map((d) => scenarioDoc(family, d, 50, 'test'));
    const scenarios = docs.map((doc) => buildScenario(doc));
    const pods = scenarios.map((s) => s.fleet.pods);
    expect(Math.min(...pods)).toBeGreaterThanOrEqual(4);
    expect(Math.max(...pods)).toBeLessThanOrEqual(32);
    expect(Math.max(...pods)).toBeGreaterThan(24);
    const mixed = scenarios.filter((s) => new Set(s.fleet.podProfiles.map((p) => p.name)).size > 1);
    expect(mixed.length).toBeGreaterThan(40);
    expect(new Set(mixed.flatMap((s) => s.fleet.podProfiles.map((p) => p.name)))).toEqual(new Set(['llama-3.1-8b-h100', 'llama-3.1-8b-a100-40gb', 'llama-3.1-8b-l4']));
    const prefix = scenarios.filter((s) => s.workload.sharedPrefix !== null);
    expect(prefix.length).toBeGreaterThan(100);
    expect(prefix.length).toBeLessThan(200);
    for (const s of prefix) expect(s.workload.sharedPrefix?.groups).toBeLessThanOrEqual(200);
    const pops = docs.map((d) => JSON.stringify((d.workload as { sharedPrefix?: { popularity: unknown } }).sharedPrefix?.popularity ?? null));
    expect(pops.some((p) => p.includes('hotSpot'))).toBe(true);
    expect(pops.some((p) => p.includes('zipf'))).toBe(true);
    expect(pops).toContain('"uniform"');
    const lora = scenarios.filter((s) => s.workload.lora !== null);
    expect(lora.length).toBeGreaterThan(30);
    for (const s of lora) {
      expect(s.workload.lora?.adapters.length).toBeLessThanOrEqual(64);
      expect(s.fleet.profile.maxLoras).toBeGreaterThanOrEqual(1);
      expect(s.fleet.profile.maxLoras).toBeLessThanOrEqual(8);
    }
    expect(scenarios.filter((s) => s.workload.sessions !== null).length).toBeGreaterThan(20);
    expect(new Set(scenarios.map((s) => s.arrivals.process))).toEqual(new Set(['poisson', 'gamma', 'constant']));
    for (const s of scenarios.filter((x) => x.arrivals.process === 'gamma')) expect(s.arrivals.burstiness).toBeGreaterThanOrEqual(1 / 16 - 1e-3);
    for (const d of drafts) {
      expect(d.load).toBeGreaterThanOrEqual(0.5);
      expect(d.load).toBeLessThanOrEqual(1.1);
    }
    // The longest request (and a session's last turn) fits the smallest context window of its fleet.
    scenarios.forEach((s, i) => {
      const w = docs[i].workload as { input: { max: number }; output: { max: number }; sharedPrefix?: { systemTokens: number }; sessions?: { turns: { uniform: number[] }; followUp: number } };
      const turns = w.sessions === undefined ? 1 : w.sessions.turns.uniform[1];
      const longest = (w.sharedPrefix?.systemTokens ?? 0) + w.input.max + w.output.max + (turns - 1) * ((w.sessions?.followUp ?? 0) + w.output.max);
      const limit = Math.min(...s.fleet.podProfiles.map((p) => Math.min(p.maxModelLen, p.numGpuBlocks * p.blockSize)));
      expect(longest).toBeLessThanOrEqual(limit);
    });
  });

  it('sizes stages per pod within the token bound, and builds calibration rungs at a given rate', () => {
    const d = drawScenario(family, 3);
    const rung = buildScenario(calibrationDoc(family, d, 12.5));
    expect(rung.arrivals.process).toBe('poisson');
    expect(rung.arrivals.stages).toHaveLength(1);
    expect(rung.arrivals.stages[0].rate).toBe(12.5);
    const n = arrivalsFor(family, d, family.measuredPerPod, 1);
    expect(n).toBeLessThanOrEqual(family.measuredPerPod * d.pods);
    expect(n).toBeGreaterThanOrEqual(Math.min(family.measuredPerPod, family.minPerPod) * d.pods);
    const tight: Family = { ...family, maxTokensPerRun: 1000 };
    expect(arrivalsFor(tight, d, family.measuredPerPod, 1)).toBe(family.minPerPod * d.pods);
  });

  it('lengthens rungs and the measured stage to last several service times, within maxPerPod', () => {
    const d = drawScenario(family, 3);
    const arrivalsOf = (doc: Record<string, unknown>) => {
      const st = buildScenario(doc).arrivals.stages;
      return st.map((x) => Math.round(x.rate * x.duration));
    };
    const short = arrivalsOf(calibrationDoc(family, d, 50));
    expect(arrivalsOf(calibrationDoc(family, d, 50, 0))).toEqual(short);
    // 60 s at 50/s: 3,000 arrivals unless maxPerPod caps it.
    expect(arrivalsOf(calibrationDoc(family, d, 50, 60))[0]).toBe(Math.max(short[0], Math.min(3000, family.calibration.maxPerPod * d.pods)));
    const capped: Family = { ...family, calibration: { ...family.calibration, maxPerPod: 1 } };
    expect(arrivalsOf(calibrationDoc(capped, d, 50, 600))).toEqual(short);
    // The measured stage (the last) lasts at least minServiceTimes × serviceMs.
    const plain = arrivalsOf(scenarioDoc(family, d, 40, 'x'));
    const long = arrivalsOf(scenarioDoc(family, d, 40, 'x', 20_000));
    const rate = Math.round(40 * d.load * 1000) / 1000;
    expect(long.at(-1)).toBe(Math.max(plain.at(-1) as number, Math.min(Math.ceil(rate * family.calibration.minServiceTimes * 20), family.calibration.maxPerPod * d.pods)));
    expect(long.at(-1)).toBeGreaterThan(plain.at(-1) as number);
  });

  it.each([
    ['a missing version', DEFAULT.replace(/^version: 1$/m, ''), /invalid config: f\.yaml: version: must be 1/],
    ['a future version', DEFAULT.replace(/^version: 1$/m, 'version: 2'), /invalid config: f\.yaml: version: must be 1/],
    ['an unknown field', DEFAULT.replace('fleet:\n', 'fleet:\n  gpus: 3\n'), /invalid config: f\.yaml: fleet\.gpus: unknown field/],
    ['pods out of range', DEFAULT.replace('pods: [4, 32]', 'pods: [0, 32]'), /invalid config: f\.yaml: fleet\.pods\[0\]: must be a number in \[1, 1024\]/],
    ['an inverted range', DEFAULT.replace('pods: [4, 32]', 'pods: [32, 4]'), /invalid config: f\.yaml: fleet\.pods: low must not exceed high/],
    ['a fractional pod count', DEFAULT.replace('pods: [4, 32]', 'pods: 4.5'), /invalid config: f\.yaml: fleet\.pods: must be an integer/],
    ['an unknown profile', DEFAULT.replace('[llama-3.1-8b-a100-40gb, llama-3.1-8b-l4]', '[h200]'), /invalid config: f\.yaml: fleet\.secondary\.oneOf\[0\]: must be one of/],
    ['a secondary serving another model', DEFAULT.replace('[llama-3.1-8b-a100-40gb, llama-3.1-8b-l4]', '[llama-3-8b-tpu-v5e-8]'), /invalid config: f\.yaml: fleet\.secondary: llama-3-8b-tpu-v5e-8 serves/],
    ['a bad arrival process', DEFAULT.replace('{ poisson: 2, gamma: 2, constant: 1 }', '{ bursty: 1 }'), /invalid config: f\.yaml: arrivals\.process\.oneOf\.bursty: must be one of poisson, gamma, constant/],
    ['zero weights', DEFAULT.replace('{ poisson: 2, gamma: 2, constant: 1 }', '{ poisson: 0 }'), /invalid config: f\.yaml: arrivals\.process\.oneOf: weights must sum/],
    ['a log range from 0', DEFAULT.replace('kvScale: { log: [0.15, 1] }', 'kvScale: { log: [0, 1] }'), /invalid config: f\.yaml: fleet\.kvScale\.log\[0\]/],
    ['a share above 1', DEFAULT.replace('share: 0.35', 'share: 1.5'), /invalid config: f\.yaml: workload\.lora\.share: must be a number in \[0, 1\]/],
    ['a bad name', DEFAULT.replace('name: default', 'name: Not OK'), /invalid config: f\.yaml: name: must be a lower-case name/],
    ['invalid YAML', 'version: [', /invalid config: f\.yaml: invalid YAML/],
    ['not a mapping', '- 1\n', /invalid config: f\.yaml: family: must be a mapping/],
  ])('rejects %s with invalid config naming the file and field', (_name, text, pattern) => {
    expect(errorOf(() => parseFamily(text, 'f.yaml'))).toMatch(pattern);
  });
});

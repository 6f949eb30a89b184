import { describe, expect, it } from 'vitest';
import { isSwitchboardError } from '../../src/errors.js';
import { renderChat } from '../../src/workload/chat-template.js';
import { Rng } from '../../src/util/random.js';
import { tokenize } from '../../src/workload/tokenizer.js';
import { planArrivals } from '../../src/workload/arrivals.js';
import { compileDist } from '../../src/workload/distributions.js';
import { fleetLabel, parseScenario } from '../../src/workload/scenario.js';
import { WorkloadGenerator } from '../../src/workload/workload.js';

const BASE = `
name: t
seed: 3
fleet: { pods: 2, engine: { numGpuBlocks: 1000 } }
workload:
  input: { uniform: [10, 20] }
  output: 8
arrivals:
  process: poisson
  stages:
    - { rate: 50, duration: 2, warmup: true }
    - { rate: 100, duration: 10 }
`;

describe('scenario files', () => {
  it('parses a scenario with defaults', () => {
    const s = parseScenario(BASE);
    expect(s.fleet.pods).toBe(2);
    expect(s.fleet.profile.numGpuBlocks).toBe(1000);
    expect(s.fleet.profile.c0Us).toBe(5750);
    expect(s.fleet.scrapeIntervalMs).toBe(50);
    expect(s.arrivals.stages.map((x) => x.warmup)).toEqual([true, false]);
    expect(s.workload.api).toBe('completions');
    expect(s.drainS).toBe(120);
  });

  it.each([
    ['unknown top-level field', BASE + 'bogus: 1\n', /bogus/],
    ['bad engine constant', BASE.replace('numGpuBlocks: 1000', 'numGpuBlocks: -5'), /numGpuBlocks/],
    ['unknown engine constant', BASE.replace('numGpuBlocks: 1000', 'gpus: 5'), /gpus/],
    ['bad distribution', BASE.replace('output: 8', 'output: { triangle: 3 }'), /triangle/],
    ['bad arrival process', BASE.replace('process: poisson', 'process: bursty'), /process/],
    ['all warm-up', BASE.replace('rate: 100, duration: 10', 'rate: 100, duration: 10, warmup: true'), /warm-up/],
    ['invalid YAML', 'name: [', /YAML/],
    ['mix with an unknown profile', BASE.replace('pods: 2', 'mix: [ { pods: 1 }, { pods: 1, profile: h200 } ]'), /fleet\.mix\[1\]|profile/],
    ['mix serving another model', BASE.replace('pods: 2', 'mix: [ { pods: 1 }, { pods: 1, profile: llama-3-8b-tpu-v5e-8 } ]'), /invalid config: fleet\.mix\[1\]\.profile: .*one model/],
    ['mix disagreeing with pods', BASE.replace('pods: 2', 'pods: 3, mix: [ { pods: 1 }, { pods: 1 } ]'), /invalid config: fleet\.pods: is 3 but fleet\.mix adds up to 2/],
    ['empty mix', BASE.replace('pods: 2', 'mix: []'), /invalid config: fleet\.mix: must be a non-empty list/],
  ])('rejects %s with a config error naming the field', (_name, text, pattern) => {
    let err: unknown;
    try {
      parseScenario(text);
    } catch (e) {
      err = e;
    }
    expect(isSwitchboardError(err)).toBe(true);
    expect((err as Error).message).toMatch(pattern);
  });

  it('gives pods of a mixed fleet their own profiles, in order, with the fleet and group overrides', () => {
    const s = parseScenario(BASE.replace('pods: 2', 'mix: [ { pods: 2 }, { pods: 1, profile: llama-3.1-8b-l4, engine: { maxLoras: 1 } } ]'));
    expect(s.fleet.pods).toBe(3);
    expect(s.fleet.podProfiles.map((p) => p.name)).toEqual(['llama-3.1-8b-h100', 'llama-3.1-8b-h100', 'llama-3.1-8b-l4']);
    expect(s.fleet.podProfiles.map((p) => p.numGpuBlocks)).toEqual([1000, 1000, 1000]);
    expect(s.fleet.podProfiles[2].maxLoras).toBe(1);
    expect(s.fleet.podProfiles[2].c0Us).toBe(58000);
    expect(fleetLabel(s.fleet)).toBe('2× llama-3.1-8b-h100 + 1× llama-3.1-8b-l4');
  });

  it('expands a QPS ladder into stages', () => {
    const s = parseScenario(BASE.replace(/stages:[\s\S]*$/, 'ladder: { from: 10, to: 30, steps: 3, stageDuration: 5 }\n'));
    expect(s.arrivals.stages.map((x) => x.rate)).toEqual([10, 20, 30]);
  });
});

describe('distributions', () => {
  it('samples a lognormal with the requested median and p95', () => {
    const d = compileDist({ lognormal: { median: 400, p95: 2000 } }, 'x');
    const rng = new Rng(1);
    const xs = Array.from({ length: 20000 }, () => d(rng)).sort((a, b) => a - b);
    expect(xs[10000] / 400).toBeGreaterThan(0.95);
    expect(xs[10000] / 400).toBeLessThan(1.05);
    expect(xs[19000] / 2000).toBeGreaterThan(0.9);
    expect(xs[19000] / 2000).toBeLessThan(1.1);
  });

  it('clamps and mixes', () => {
    const d = compileDist({ mixture: [{ weight: 1, dist: 5 }, { weight: 1, dist: { uniform: [100, 200] } }], max: 150 }, 'x');
    const rng = new Rng(2);
    const xs = Array.from({ length: 1000 }, () => d(rng));
    expect(xs.every((x) => x === 5 || (x >= 100 && x <= 150))).toBe(true);
    const fives = xs.filter((x) => x === 5).length;
    expect(fives).toBeGreaterThan(430);
    expect(fives).toBeLessThan(570);
  });
});

describe('arrivals', () => {
  it('draws Poisson arrivals at the stage rates, staying inside each stage', () => {
    const s = parseScenario(BASE);
    const a = planArrivals(s.arrivals, new Rng(1), 1e6);
    const warm = a.filter((x) => x.stage === 0);
    const main = a.filter((x) => x.stage === 1);
    expect(warm.length).toBeGreaterThan(70);
    expect(warm.length).toBeLessThan(130);
    expect(main.length).toBeGreaterThan(900);
    expect(main.length).toBeLessThan(1100);
    expect(warm.every((x) => x.at < 2000)).toBe(true);
    expect(main.every((x) => x.at >= 2000 && x.at < 12000)).toBe(true);
    expect(a.map((x) => x.index)).toEqual(a.map((_, i) => i));
  });

  it('spaces constant arrivals evenly and makes gamma arrivals burstier', () => {
    const c = parseScenario(BASE.replace('process: poisson', 'process: constant'));
    const ca = planArrivals(c.arrivals, new Rng(1), 1e6);
    expect(ca.filter((x) => x.stage === 1).length).toBe(1000);
    const cv = (burstiness: number): number => {
      const g = parseScenario(BASE.replace('process: poisson', `process: gamma\n  burstiness: ${burstiness}`));
      const xs = planArrivals(g.arrivals, new Rng(5), 1e6).filter((x) => x.stage === 1);
      const gaps = xs.slice(1).map((x, i) => x.at - xs[i].at);
      const mean = gaps.reduce((p, q) => p + q, 0) / gaps.length;
      const sd = Math.sqrt(gaps.reduce((p, q) => p + (q - mean) ** 2, 0) / gaps.length);
      return sd / mean;
    };
    expect(cv(0.25)).toBeGreaterThan(1.5);
    expect(cv(1)).toBeGreaterThan(0.8);
    expect(cv(1)).toBeLessThan(1.2);
  });

  it('stops at the request cap', () => {
    expect(planArrivals(parseScenario(BASE).arrivals, new Rng(1), 17)).toHaveLength(17);
  });
});

describe('workload generator', () => {
  const shared = parseScenario(
    BASE.replace('  output: 8', '  output: 8\n  sharedPrefix: { groups: 3, systemTokens: 64 }\n  lora: { adapters: 4, popularity: { zipf: 1.5 } }'),
  );

  it('gives requests of one group the same system prompt, token-exact', () => {
    const gen = new WorkloadGenerator(shared, 'base');
    const arrivals = planArrivals(shared.arrivals, new Rng(1), 200);
    const reqs = arrivals.map((a) => gen.first(a).request);
    const byGroup = new Map<number, string[]>();
    for (const r of reqs) byGroup.set(r.group, [...(byGroup.get(r.group) ?? []), r.prompt as string]);
    expect(byGroup.size).toBe(3);
    for (const prompts of byGroup.values()) {
      const prefix = prompts[0].slice(0, 64 * 4);
      expect(prompts.every((p) => p.startsWith(prefix))).toBe(true);
      for (const p of prompts) {
        const n = tokenize(p).length;
        expect(n).toBeGreaterThanOrEqual(64 + 10);
        expect(n).toBeLessThanOrEqual(64 + 20);
      }
    }
  });

  it('picks adapters by Zipf popularity and is deterministic', () => {
    const a = new WorkloadGenerator(shared, 'base');
    const b = new WorkloadGenerator(shared, 'base');
    const arrivals = planArrivals(shared.arrivals, new Rng(1), 1000);
    const ra = arrivals.map((x) => a.first(x).request);
    const rb = arrivals.map((x) => b.first(x).request);
    expect(ra).toEqual(rb);
    const counts = [0, 0, 0, 0];
    for (const r of ra) counts[Number((r.lora as string).split('-')[1])]++;
    expect(counts[0]).toBeGreaterThan(counts[1]);
    expect(counts[1]).toBeGreaterThan(counts[3]);
    expect(ra.every((r) => r.model === r.lora)).toBe(true);
  });

  it('grows a completions session by the answer and a follow-up, keeping the token prefix', () => {
    const s = parseScenario(BASE.replace('  output: 8', '  output: 8\n  sessions: { turns: 3, followUp: 5, thinkTimeS: 2 }'));
    const gen = new WorkloadGenerator(s, 'base');
    const first = gen.first(planArrivals(s.arrivals, new Rng(1), 1)[0]);
    expect(first.session?.turns).toBe(3);
    const answer = 'abc def ghi ';
    const t1 = gen.next(first.session!, answer);
    expect(t1?.request.turn).toBe(1);
    expect(t1?.request.prompt?.startsWith((first.request.prompt as string) + answer)).toBe(true);
    const before = tokenize((first.request.prompt as string) + answer);
    const after = tokenize(t1?.request.prompt as string);
    expect([...after.slice(0, before.length)]).toEqual([...before]);
    expect(after.length).toBe(before.length + 5);
    expect(t1?.delayMs).toBeGreaterThanOrEqual(0);
    expect(gen.next(first.session!, answer)?.request.turn).toBe(2);
    expect(gen.next(first.session!, answer)).toBeNull();
  });

  it('grows a chat session by assistant and user messages; the rendered prefix is stable', () => {
    const s = parseScenario(BASE.replace('  output: 8', '  output: 8\n  api: chat\n  sessions: { turns: 2, followUp: 5 }'));
    const gen = new WorkloadGenerator(s, 'base');
    const first = gen.first(planArrivals(s.arrivals, new Rng(1), 1)[0]);
    const answer = 'xyz uvw ';
    const t1 = gen.next(first.session!, answer)!;
    expect(t1.request.messages?.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    const prev = tokenize(renderChat(first.request.messages!) + answer);
    const next = tokenize(renderChat(t1.request.messages!));
    expect([...next.slice(0, prev.length)]).toEqual([...prev]);
    const body = JSON.parse(gen.body(t1.request).toString());
    expect(body).toMatchObject({ model: 'base', stream: true, stream_options: { include_usage: true }, max_tokens: 8 });
  });
});

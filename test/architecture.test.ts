/**
 * The layout is the architecture: no import cycles, and dependencies point inward. The core
 * (pool, datalayer, scheduling, request, director, admission, config, telemetry, errors) never
 * imports an adapter (front doors, discovery, simulator, load generator, CLI).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
const CORE = ['pool', 'datalayer', 'scheduling', 'request', 'director', 'admission', 'config', 'telemetry', 'errors.ts'];
const ADAPTERS = ['frontends', 'discovery', 'sim', 'loadgen', 'cli', 'ha'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return files(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** Runtime imports of a file (type-only imports cannot form runtime cycles). */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^'"]*?from\s+'(\.[^']+)'/gm)) {
    if (m[1] !== undefined) continue;
    out.push(resolve(dirname(file), m[2].replace(/\.js$/, '.ts')));
  }
  return out;
}

const all = files(SRC);
const graph = new Map(all.map((f) => [f, imports(f).filter((t) => all.includes(t))]));
const top = (f: string) => relative(SRC, f).split('/')[0];

describe('architecture', () => {
  it('has no runtime import cycles', () => {
    const state = new Map<string, 1 | 2>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === 2) return;
      if (state.get(f) === 1) {
        cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(SRC, p)).join(' -> '));
        return;
      }
      state.set(f, 1);
      for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
      state.set(f, 2);
    };
    for (const f of all) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('keeps the core free of adapter imports', () => {
    const bad: string[] = [];
    for (const [f, targets] of graph) {
      if (!CORE.includes(top(f))) continue;
      for (const t of targets) if (ADAPTERS.includes(top(t))) bad.push(`${relative(SRC, f)} imports ${relative(SRC, t)}`);
    }
    expect(bad).toEqual([]);
  });
});

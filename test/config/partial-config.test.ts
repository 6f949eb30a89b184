import { buildDataLayer } from '../../src/datalayer/build.js';
import { registerBuiltinPlugins } from '../../src/builtin-plugins.js';
/**
 * First-hour trust in the config file: sections a file does not name keep their defaults, every
 * problem is reported at once with the file and field path, and `--print-config` shows what
 * would run in a form that loads again.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { loadConfigFile, parseConfig } from '../../src/config/load.js';
import { configDocument, formatConfig } from '../../src/config/print.js';
import { buildScheduling } from '../../src/scheduling/build.js';
import { makePool, seeded } from '../support/pool.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const build = (text: string) => buildScheduling(parseConfig(text, 'test.yaml'), { pool: makePool([]), rng: seeded(1) }, { registry: registerBuiltinPlugins() });
const scorerWeights = (text: string) => build(text).profile.scorers.map((s) => `${s.scorer.typedName.type}:${s.weight}`);
const DEFAULT_SCORERS = scorerWeights('{}');

/** Runs `switchboard serve <args>`; exit code, stdout, stderr. */
async function serve(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
  const code = await main(['serve', ...args]);
  vi.restoreAllMocks();
  return { code, out, err };
}

function tempFile(name: string, text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'sb-config-')), name);
  writeFileSync(p, text);
  return p;
}

describe('a partial config keeps the default scheduling', () => {
  it('the default profile scores with five scorers', () => {
    expect(DEFAULT_SCORERS).toEqual([
      'prefix-cache-scorer:3',
      'prefill-work-scorer:2',
      'queue-scorer:2',
      'kv-cache-utilization-scorer:2',
      'lora-affinity-scorer:4',
    ]);
  });

  it.each([
    ['an empty file', ''],
    ['only the header', 'apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n'],
    ['only objectives and model rewrites (docs/run-without-kubernetes.md)', 'objectives:\n  - { name: interactive, priority: 10 }\n  - { name: batch, priority: -1 }\nmodelRewrites:\n  - model: sql-assistant\n    targets:\n      - { model: text2sql, weight: 90 }\n'],
    ['only endpoints', 'endpoints: ["127.0.0.1:8000", "127.0.0.1:8001"]\n'],
    ['only feature gates and flow control', 'featureGates: [flowControl]\nflowControl: { maxRequests: 10 }\n'],
  ])('%s', (_name, text) => {
    expect(scorerWeights(text)).toEqual(DEFAULT_SCORERS);
    expect(build(text).warnings).toEqual([]);
  });

  it('plugins without any scheduling plugin get the default profile, with a warning', () => {
    const b = build('plugins:\n- type: metrics-data-source\n  parameters: { path: /stats }\n');
    expect(b.profile.scorers.map((s) => `${s.scorer.typedName.type}:${s.weight}`)).toEqual(DEFAULT_SCORERS);
    expect(buildDataLayer({ dataLayer: [] }, b.plugins, registerBuiltinPlugins(), { pool: makePool([]), rng: seeded(1) }, undefined).source).toMatchObject({ path: '/stats' });
    expect(b.warnings.map((w) => w.message).join('\n')).toMatch(/no scheduling plugins configured: using the default scheduling profile/);
  });

  it('declared scheduling plugins without a profile run as the Go EPP does (one profile, weight 1, max-score picker)', () => {
    const b = build('plugins: [{type: queue-scorer}, {type: kv-cache-utilization-scorer}]');
    expect(b.profile.scorers.map((s) => `${s.scorer.typedName.type}:${s.weight}`)).toEqual(['queue-scorer:1', 'kv-cache-utilization-scorer:1']);
    expect(b.effective.schedulingProfiles[0].plugins.map((r) => r.pluginRef)).toEqual(['queue-scorer', 'kv-cache-utilization-scorer', 'max-score-picker']);
  });

  it('a profile without any scorer warns that picks are tie-breaks', () => {
    const b = build('plugins: [{type: least-queue-filter}, {type: random-picker}]\nschedulingProfiles: [{name: p, plugins: [{pluginRef: least-queue-filter}, {pluginRef: random-picker}]}]');
    expect(b.warnings.map((w) => w.code)).toContain('SB_WARN_NO_SCORER');
    expect(b.warnings.map((w) => w.message).join('\n')).toMatch(/profile "p" has no scorer/);
  });

  it('serve logs that warning at start (--print-config writes it to stderr)', async () => {
    const r = await serve(['--config-text', 'plugins: [{type: random-picker}]\nschedulingProfiles: [{name: p, plugins: [{pluginRef: random-picker}]}]', '--print-config']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/"code":"SB_WARN_NO_SCORER","msg":"scheduling profile \\"p\\" has no scorer/);
  });
});

describe('config errors name the file and field, all at once, with suggestions', () => {
  it('reports every problem of a file in one error', () => {
    const path = tempFile('bad.yaml', [
      'plugin: []',
      'plugins:',
      '- type: queue-scorr',
      '- type: kv-cache-utilization-scorer',
      '  weight: 2',
      'schedulingProfiles:',
      '- name: p',
      '  plugins:',
      '  - pluginRef: kv-cache-utilization-scorr',
      'objectives:',
      '- { name: a, priority: high }',
      '- { name: b, priority: 1 }',
    ].join('\n'));
    let message = '';
    try {
      loadConfigFile(path);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`invalid config: ${path}: 4 problems:`);
    expect(message).toContain('  - plugin: unknown field (did you mean "plugins"?)');
    expect(message).toContain('  - plugins[1].weight: unknown field');
    expect(message).toContain('  - schedulingProfiles[0].plugins[0].pluginRef: no plugin named "kv-cache-utilization-scorr" (did you mean "kv-cache-utilization-scorer"?)');
    expect(message).toContain('  - objectives[0].priority: must be an integer, got "high"');
  });

  it('suggests the nearest plugin type, and names the file and the entry', () => {
    expect(() => build('plugins: [{type: queue-scorer}, {type: prefix-cache-scorr}, {type: lora-afinity-scorer}]')).toThrow(
      /invalid config: test\.yaml: 2 problems:\n {2}- plugins\[1\]\.type: unknown plugin type "prefix-cache-scorr" \(did you mean "prefix-cache-scorer"\?\)\n {2}- plugins\[2\]\.type: unknown plugin type "lora-afinity-scorer" \(did you mean "lora-affinity-scorer"\?\)/,
    );
  });

  it('shows the offending line of a YAML syntax error with a caret under the column', () => {
    const path = tempFile('syntax.yaml', 'plugins:\n  - type: queue-scorer\n    name: [unclosed\nschedulingProfiles: []\n');
    let message = '';
    try {
      loadConfigFile(path);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(new RegExp(`^invalid config: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid YAML/JSON: `));
    const lines = message.split('\n');
    expect(lines.length).toBe(3);
    expect(lines[1]).toMatch(/^ {2}\d+ \| /);
    expect(lines[2]).toMatch(/^ {2} +\| +\^$/);
  });
});

describe('--print-config', () => {
  it('prints the effective profile of a partial config as YAML that loads again unchanged', async () => {
    const text = 'objectives:\n  - { name: batch, priority: -1 }\n';
    const r = await serve(['--config-text', text, '--print-config']);
    expect(r.code).toBe(0);
    const doc = parseYaml(r.out) as Record<string, unknown>;
    expect(doc.objectives).toEqual([{ name: 'batch', priority: -1 }]);
    const again = parseConfig(r.out, 'printed');
    expect(again.schedulingProfiles).toEqual(defaultConfig().schedulingProfiles);
    expect(again.plugins).toEqual(defaultConfig().plugins);
  });

  it('prints JSON with --print-config=json, and refuses other formats', async () => {
    const r = await serve(['--print-config=json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { kind: string; schedulingProfiles: Array<{ plugins: Array<{ pluginRef: string }> }> };
    expect(doc.kind).toBe('EndpointPickerConfig');
    expect(doc.schedulingProfiles[0].plugins.map((p) => p.pluginRef)).toContain('queue-scorer');
    const bad = await serve(['--print-config=xml']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/invalid flag --print-config: must be yaml or json, got "xml"/);
  });

  it('shows the implicit picker it adds', async () => {
    const r = await serve(['--config-text', 'plugins: [{type: queue-scorer}]', '--print-config']);
    const doc = parseYaml(r.out) as { schedulingProfiles: Array<{ plugins: Array<{ pluginRef: string }> }> };
    expect(doc.schedulingProfiles[0].plugins.map((p) => p.pluginRef)).toEqual(['queue-scorer', 'max-score-picker']);
  });

  it('round-trips every section', () => {
    const text = [
      'featureGates: [flowControl]',
      'plugins:',
      '- { type: queue-scorer, name: q }',
      '- { type: max-score-picker, parameters: { maxNumOfEndpoints: 2 } }',
      '- { type: utilization-detector }',
      'schedulingProfiles: [{ name: p, plugins: [{ pluginRef: q, weight: 4 }, { pluginRef: max-score-picker }] }]',
      'saturationDetector: { pluginRef: utilization-detector }',
      'flowControl: { maxRequests: 9, defaultRequestTTL: 5s, priorityBands: [{ priority: 5, maxRequests: 3 }] }',
      'endpoints: ["127.0.0.1:8000", { address: 127.0.0.2, port: 9000, name: b, labels: { zone: a } }]',
      'objectives: [{ name: a, priority: 2 }]',
      'modelRewrites: [{ model: m, targets: [{ model: n, weight: 1 }] }]',
      'promptGuards: [{ type: local-policy, maxPromptBytes: 1000, denyPatterns: [secret] }, { type: http-screening, url: "http://127.0.0.1:1/screen", timeout: 250ms }]',
      'tokenBudgets: { default: { inputTokensPerMinute: 100 }, flows: [{ fairnessId: t, outputTokensPerMinute: 5 }] }',
    ].join('\n');
    const cfg = parseConfig(text, 'x');
    for (const format of ['yaml', 'json'] as const) {
      const again = parseConfig(formatConfig(cfg, format), 'printed');
      expect({ ...again, source: 'x' }).toEqual(cfg);
    }
    expect(configDocument(cfg).flowControl).toMatchObject({ defaultRequestTTL: '5000ms' });
  });
});

describe('saturation detector', () => {
  it('defaults to the utilization detector and refuses a plugin that is not a detector', () => {
    expect(build('{}').saturationDetector.typedName.type).toBe('utilization-detector');
    expect(build('plugins: [{type: concurrency-detector}, {type: queue-scorer}]\nsaturationDetector: {pluginRef: concurrency-detector}').saturationDetector.typedName.type).toBe('concurrency-detector');
    expect(() => build('plugins: [{type: queue-scorer}]\nsaturationDetector: {pluginRef: queue-scorer}')).toThrow(/saturationDetector\.pluginRef: plugin "queue-scorer" \(queue-scorer\) is not a saturation detector/);
  });
});

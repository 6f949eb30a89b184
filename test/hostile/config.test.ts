/**
 * Hostile configuration: what an operator (or a bad ConfigMap) can feed `switchboard serve`.
 * Through the CLI entry point: exit code 2 and one line naming the field and the reason, before
 * anything listens. Generated configs (fast-check) either build a core or fail with a coded
 * config error; nothing else (no TypeError, no crash, no hang) comes out.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/load.js';
import { isSwitchboardError } from '../../src/errors.js';
import { registerBuiltinPlugins } from '../../src/builtin-plugins.js';
import { PluginRegistry } from '../../src/framework/registry.js';
import { createSwitchboard } from '../../src/switchboard.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs `switchboard serve --config-text <text> --print-config`: exit code and what it printed. */
async function serveWith(text: string, extra: string[] = []): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  // --print-config stops after validation, so a valid config does not start servers.
  const code = await main(['serve', '--config-text', text, '--print-config', ...extra]);
  return { code, stderr };
}

describe('bad configs stop `serve` with exit code 2 and say what to fix', () => {
  it.each<[string, string, RegExp]>([
    ['a wrong type', 'plugins: {queue-scorer: 1}', /invalid config: --config-text: plugins: must be a list, got/],
    ['an unknown plugin', 'plugins: [{type: warp-drive}]', /unknown plugin type "warp-drive" \(known: .*queue-scorer/],
    ['a negative weight', 'plugins: [{type: queue-scorer}]\nschedulingProfiles: [{name: p, plugins: [{pluginRef: queue-scorer, weight: -3}]}]', /weight: must not be negative, got -3/],
    ['a weight that is text', 'plugins: [{type: queue-scorer}]\nschedulingProfiles: [{name: p, plugins: [{pluginRef: queue-scorer, weight: heavy}]}]', /weight: must be a number/],
    ['duplicate plugin names', 'plugins: [{name: a, type: queue-scorer}, {name: a, type: kv-cache-utilization-scorer}]', /duplicate plugin name "a"/],
    ['duplicate profile names', 'plugins: [{type: queue-scorer}]\nschedulingProfiles: [{name: p}, {name: p}]', /duplicate profile name "p"/],
    ['a plugin parameter of the wrong type', 'plugins: [{type: max-score-picker, parameters: {maxNumOfEndpoints: many}}]', /plugin "max-score-picker" \(max-score-picker\)/],
    ['a dangling reference', 'schedulingProfiles: [{name: p, plugins: [{pluginRef: ghost}]}]', /no plugin named "ghost"/],
    ['duplicate YAML keys', 'plugins: []\nplugins: []', /not valid YAML/],
    ['a document that is a list', '- a\n- b', /must be a mapping/],
    ['a YAML alias bomb', `a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]`, /not valid YAML|unknown field/],
  ])('%s', async (_name, text, message) => {
    const { code, stderr } = await serveWith(text);
    expect(code).toBe(2);
    // One problem: one line, plus for YAML syntax errors the offending line and a caret under it.
    expect(stderr.trim().split('\n').length).toBeLessThanOrEqual(/not valid YAML/.test(stderr) ? 3 : 1);
    expect(stderr).toMatch(/^switchboard serve: /);
    expect(stderr).toMatch(message);
  });

  it('bad flags too: unknown or mistyped', async () => {
    expect(await serveWith('{}', ['--max-active-streams=lots'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/invalid flag --max-active-streams: must be an integer/) });
    expect(await serveWith('{}', ['--warp=1'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/invalid flag --warp: unknown flag/) });
  });
});

describe('generated configs (fast-check)', () => {
  const types = new PluginRegistry();
  registerBuiltinPlugins(types);
  const known = types.types();

  it('either build a core or fail with a coded config error', () => {
    const value = fc.oneof(fc.string({ maxLength: 6 }), fc.integer({ min: -5, max: 5 }), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }));
    const params = fc.dictionary(
      fc.constantFrom('maxNumOfEndpoints', 'threshold', 'blockSize', 'blockSizeTokens', 'maxPrefixBlocksToMatch', 'lruCapacityPerServer', 'queueDepthThreshold', 'referenceQueue', 'headerName', 'x'),
      value,
      { maxKeys: 3 },
    );
    const plugin = fc.record(
      { type: fc.oneof(fc.constantFrom(...known), fc.string({ maxLength: 8 })), name: fc.string({ maxLength: 6 }), parameters: params },
      { requiredKeys: ['type'] },
    );
    const profile = fc.record(
      { name: fc.string({ maxLength: 4 }), plugins: fc.array(fc.record({ pluginRef: fc.string({ maxLength: 8 }), weight: value }, { requiredKeys: ['pluginRef'] }), { maxLength: 3 }) },
      { requiredKeys: ['name'] },
    );
    const doc = fc.record(
      {
        apiVersion: fc.constantFrom('inference.networking.x-k8s.io/v1alpha1', 'v1', ''),
        kind: fc.constantFrom('EndpointPickerConfig', 'Pod'),
        plugins: fc.oneof(fc.array(plugin, { maxLength: 4 }), value),
        schedulingProfiles: fc.oneof(fc.array(profile, { maxLength: 2 }), value),
        endpoints: fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.record({ address: fc.string({ maxLength: 8 }), port: fc.integer({ min: -1, max: 70000 }) })), { maxLength: 2 }),
        objectives: fc.array(fc.record({ name: fc.string({ maxLength: 4 }), priority: value }), { maxLength: 2 }),
        featureGates: fc.array(fc.string({ maxLength: 6 }), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    );
    let built = 0;
    fc.assert(
      fc.property(doc, (d) => {
        try {
          const config = parseConfig(stringify(d), 'generated');
          const core = createSwitchboard({ config, scrape: false, telemetry: false });
          void core.close();
          built++;
        } catch (err) {
          expect(isSwitchboardError(err), String(err)).toBe(true);
          expect((err as { code: string }).code).toMatch(/^SB_ERR_(CONFIG|UNKNOWN_PLUGIN)$/);
          expect((err as Error).message.length).toBeGreaterThan(10);
        }
      }),
      { numRuns: 300, seed: 42_2026 },
    );
    expect(built).toBeGreaterThan(0);
  });
});

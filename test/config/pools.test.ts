import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { formatConfig } from '../../src/config/print.js';

const HEAD = 'apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n';

const problem = (text: string): string => {
  try {
    parseConfig(HEAD + text, 'pools.yaml');
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error');
};

describe('pools and spillover config', () => {
  it('reads every discovery kind, attributes, profile and detector references, and the default spill order by cost', () => {
    const cfg = parseConfig(
      HEAD +
        `
plugins:
- type: queue-scorer
- type: utilization-detector
  name: strict
  parameters: { queueDepthThreshold: 2 }
schedulingProfiles:
- name: default
  plugins: [{ pluginRef: queue-scorer }]
- name: tpu
  plugins: [{ pluginRef: queue-scorer, weight: 2 }]
pools:
- name: h100
  endpointsFile: /etc/switchboard/h100.yaml
  attributes: { costRank: 2 }
- name: l4
  inferencePool: { name: llama-l4, namespace: serving }
  saturationDetector: { pluginRef: strict }
  attributes: { region: us-central1, accelerator: nvidia-l4, costRank: 0 }
- name: tpu
  endpointSelector: { matchLabels: { accel: tpu-v5e }, targetPorts: [9000] }
  modelServerType: jetstream
  schedulingProfile: tpu
  attributes: { costRank: 1 }
- name: lab
  endpoints: ["127.0.0.1:8000", { address: 127.0.0.2, port: 8001, name: b }]
  attributes: { costRank: 3 }
`,
    );
    expect(cfg.pools?.map((p) => p.discovery.kind)).toEqual(['file', 'inferencePool', 'selector', 'static']);
    expect(cfg.pools?.[1]).toMatchObject({ saturationDetector: 'strict', attributes: { region: 'us-central1', accelerator: 'nvidia-l4', costRank: 0 } });
    expect(cfg.pools?.[2]).toMatchObject({ modelServerType: 'jetstream', schedulingProfile: 'tpu' });
    expect(cfg.spillover).toMatchObject({ enterSaturation: 1, exitSaturation: 0.8, rampUpMs: 30_000, policies: [] });
    expect(cfg.spillover?.default.pools).toEqual(['l4', 'tpu', 'h100', 'lab']);
    // --print-config round-trips.
    const again = parseConfig(formatConfig(cfg, 'yaml'), 'printed');
    expect(again.pools).toEqual(cfg.pools);
    expect(again.spillover).toEqual(cfg.spillover);
  });

  it('a config without pools is unchanged (no pools, no spillover fields)', () => {
    const cfg = parseConfig(HEAD + 'endpoints: ["127.0.0.1:8000"]\n');
    expect(cfg.pools).toBeUndefined();
    expect(cfg.spillover).toBeUndefined();
  });

  it('reads per-objective policies', () => {
    const cfg = parseConfig(
      HEAD +
        `
pools:
- { name: a, endpoints: ["127.0.0.1:8000"] }
- { name: b, endpoints: ["127.0.0.1:8001"] }
spillover:
  enterSaturation: 0.9
  exitSaturation: 0.6
  rampUp: 45s
  default: { pools: [a, b] }
  policies:
  - { objective: premium, pools: [a, b] }
  - { objective: batch, pools: [a], whenSaturated: shed }
`,
    );
    expect(cfg.spillover).toEqual({
      enterSaturation: 0.9,
      exitSaturation: 0.6,
      rampUpMs: 45_000,
      default: { objective: null, pools: ['a', 'b'], whenSaturated: 'admit' },
      policies: [
        { objective: 'premium', pools: ['a', 'b'], whenSaturated: 'admit' },
        { objective: 'batch', pools: ['a'], whenSaturated: 'shed' },
      ],
    });
  });

  it.each([
    ['pools:\n- { name: a }\n', 'pools[0]: needs one endpoint source'],
    ['pools:\n- { name: a, endpoints: ["127.0.0.1:1"], endpointsFile: f.yaml }\n', 'choose one endpoint source, got endpoints and endpointsFile'],
    ['pools:\n- { name: A B, endpoints: ["127.0.0.1:1"] }\n', 'pools[0].name: must be lower-case'],
    ['pools:\n- { name: a, endpoints: ["127.0.0.1:1"] }\n- { name: a, endpoints: ["127.0.0.1:2"] }\n', 'duplicate pool name "a"'],
    ['pools:\n- { name: a, endpoints: ["127.0.0.1:1"] }\n- { name: b, endpoints: ["127.0.0.1:1"] }\n', '127.0.0.1:1 is already in pool "a"'],
    ['pools:\n- { name: a, endpoints: ["127.0.0.1:1"], schedulingProfile: nope }\n', 'no profile named "nope"'],
    ['pools:\n- { name: a, endpoints: ["127.0.0.1:1"], attributes: { costRank: -1 } }\n', 'attributes.costRank: must be >= 0'],
    ['pools:\n- { name: a, endpointSelector: { matchLabels: {}, targetPorts: [1] } }\n', 'needs at least one label'],
    ['pools:\n- { name: a, endpoints: ["127.0.0.1:1"] }\nspillover: { policies: [{ objective: x, pools: [b] }] }\n', 'spillover.policies[0].pools[0]: no pool named "b"'],
    ['pools:\n- { name: a, endpoints: ["127.0.0.1:1"] }\nspillover: { enterSaturation: 0.5, exitSaturation: 0.9 }\n', 'traffic would flap'],
    ['pools:\n- { name: a, endpoints: ["127.0.0.1:1"] }\nspillover: { default: { pools: [a], whenSaturated: drop } }\n', 'must be one of admit, shed'],
    ['spillover: { rampUp: 1s }\n', 'spillover: needs pools'],
    ['endpoints: ["127.0.0.1:9"]\npools:\n- { name: a, endpoints: ["127.0.0.1:1"] }\n', 'endpoints: with pools, list endpoints in their pool'],
  ])('rejects %j', (text, message) => {
    const m = problem(text);
    expect(m).toMatch(/^invalid config: pools\.yaml/);
    expect(m).toContain(message);
  });
});

/**
 * The multi-pool overlay (deploy/manifests/switchboard-multi-pool) as kustomize renders it: the
 * picker runs serve flags without --pool-name and a pools config that builds; every pool's
 * InferencePool exists; the routed (umbrella) pool holds every model-server pod, each pod is in
 * exactly one of the pools Switchboard discovers, and every pool names the picker.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createMultiPool } from '../../src/multipool/multi-pool.js';
import { at } from '../support/deploy.js';
import { checkSwitchboardDeployment } from '../support/deploy-checks.js';
import { kustomize } from '../support/kustomize.js';

type Json = Record<string, unknown>;
const objs = kustomize('manifests/switchboard-multi-pool');
const byKind = (kind: string) => objs.filter((o) => o.kind === kind);
const named = (kind: string, name: string) => byKind(kind).find((o) => (o.metadata as Json).name === name);
const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('multi-pool overlay', () => {
  const dep = named('Deployment', 'switchboard') as Json;
  const config = parseConfig(String((named('ConfigMap', 'switchboard-config')!.data as Json)['config.yaml']), 'multi-pool config');

  it('runs serve without --pool-name and a pools config that builds', async () => {
    const flags = checkSwitchboardDeployment(dep);
    expect(flags.values['pool-name']).toBe('');
    expect(flags.values['config-file']).toBe('/etc/switchboard/config.yaml');
    expect(config.pools?.map((p) => p.name)).toEqual(['l4', 'tpu']);
    const mp = createMultiPool({ config, scrape: false, telemetry: false });
    expect(mp.warnings).toEqual([]);
    await mp.close();
  });

  it('discovers each pool from an InferencePool of the overlay, each pod in exactly one, all in the routed pool', () => {
    const pools = byKind('InferencePool');
    const servers = byKind('Deployment').filter((d) => d !== dep);
    expect(servers).toHaveLength(2);
    const umbrella = named('InferencePool', 'llama') as Json;
    for (const p of pools) expect(at(p, 'spec.endpointPickerRef.name')).toBe('switchboard');
    for (const s of servers) {
      const labels = at(s, 'spec.template.metadata.labels') as Record<string, string>;
      expect(matches(at(umbrella, 'spec.selector.matchLabels') as Record<string, string>, labels)).toBe(true);
      const owners = (config.pools ?? []).filter((p) => {
        if (p.discovery.kind !== 'inferencePool') throw new Error(`pool ${p.name} is not discovered from an InferencePool`);
        const ip = named('InferencePool', p.discovery.name);
        expect(ip, p.discovery.name).toBeDefined();
        return matches(at(ip, 'spec.selector.matchLabels') as Record<string, string>, labels);
      });
      expect(owners).toHaveLength(1);
    }
  });
});

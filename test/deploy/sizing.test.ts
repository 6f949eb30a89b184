/**
 * The picker's CPU requests follow from the measured CPU per request in bench/RESULTS.md with the
 * formula in deploy/README.md ("Sizing"), and every HA variant fits the guide's default node
 * (e2-standard-4) beside GKE's system pods.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { at, DEPLOY, ROOT } from '../support/deploy.js';
import { checkSwitchboardDeployment } from '../support/deploy-checks.js';
import { HelmRenderer } from '../support/helm-template.js';
import { kustomize } from '../support/kustomize.js';

type Json = Record<string, unknown>;

/** The formula's constants, as deploy/README.md states them. */
const IDLE_CPU = 0.1;
const HEADROOM = 2;
const PEAK_RPS = 100;
const CPU_PER_REQUEST_S = 0.0014;

/** e2-standard-4: 4 vCPUs minus GKE's CPU reservation (6% of the first core, 1% of the second, 0.5% of the third and fourth). */
const E2_STANDARD_4_ALLOCATABLE = 4 - (0.06 + 0.01 + 0.005 + 0.005);
/** CPU requested by GKE's system pods on a one-node default pool with Managed Prometheus (kube-dns, konnectivity, logging, metrics agents, GMP collector, kube-proxy; a generous round figure). */
const SYSTEM_PODS_CPU = 1.2;

const cpu = (q: unknown): number => (String(q).endsWith('m') ? Number(String(q).slice(0, -1)) / 1000 : Number(q));
const required = (rpsPerReplica: number) => IDLE_CPU + HEADROOM * rpsPerReplica * CPU_PER_REQUEST_S;

/** Server CPU µs per exchange of the `switchboard` rows of the ext_proc table in bench/RESULTS.md. */
function measuredExtprocCpuUs(): number[] {
  const text = readFileSync(join(ROOT, 'bench', 'RESULTS.md'), 'utf8');
  const section = text.slice(text.indexOf('<!-- bench:extproc:start -->'), text.indexOf('<!-- bench:extproc:end -->'));
  return section
    .split('\n')
    .filter((l) => l.startsWith('| switchboard |'))
    .map((l) => Number(l.split('|')[5].trim().split(' ')[0]));
}

describe('picker sizing', () => {
  it('the cost per request in the formula covers every ext_proc measurement', () => {
    const us = measuredExtprocCpuUs();
    expect(us.length).toBe(4);
    for (const x of us) expect(x).toBeGreaterThan(0);
    expect(Math.max(...us) / 1e6).toBeLessThanOrEqual(CPU_PER_REQUEST_S);
    const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
    expect(readme).toContain('CPU request per replica = 0.1 + 2 x (peak req/s through that replica) x CPU per request');
    expect(readme).toContain('1.4 ms');
    expect(readme).toContain(`Peak ${PEAK_RPS} req/s`);
  });

  it.each([
    // dir, replicas, requests each replica serves at peak
    ['manifests/switchboard', 1, PEAK_RPS],
    ['manifests/switchboard-active-passive', 2, PEAK_RPS],
    ['manifests/switchboard-active-active', 3, PEAK_RPS / 3],
  ])('%s: requests at least the formula`s CPU per replica, no CPU limit, and fits the default node', (dir, replicas, rps) => {
    const dep = kustomize(dir).find((o) => o.kind === 'Deployment')!;
    checkSwitchboardDeployment(dep);
    expect(at(dep, 'spec.replicas')).toBe(replicas);
    const res = (at(dep, 'spec.template.spec.containers') as Json[])[0].resources as Json;
    const request = cpu(at(res, 'requests.cpu'));
    expect(request).toBeGreaterThanOrEqual(required(rps));
    // Not wastefully more: within one 100m step of the formula, rounded up.
    expect(request).toBeLessThanOrEqual(Math.ceil(required(rps) * 10) / 10 + 1e-9);
    expect(at(res, 'limits.cpu')).toBeUndefined();
    expect(replicas * request + SYSTEM_PODS_CPU).toBeLessThanOrEqual(E2_STANDARD_4_ALLOCATABLE);
  });

  it('the chart`s default resources are the single-replica manifest`s', () => {
    const dep = new HelmRenderer().objects(join(DEPLOY, 'helm', 'switchboard')).find((o) => o.kind === 'Deployment')!;
    const plain = kustomize('manifests/switchboard').find((o) => o.kind === 'Deployment')!;
    expect((at(dep, 'spec.template.spec.containers') as Json[])[0].resources).toEqual((at(plain, 'spec.template.spec.containers') as Json[])[0].resources);
  });
});

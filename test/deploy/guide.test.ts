/**
 * The GKE path as written works the first time: every GatewayClass named anywhere is one GKE
 * documents; the quick path (README) and the guide enable the APIs GKE Inference Gateway needs,
 * size the default pool, set up Workload Identity, apply the alpha CRDs unconditionally, and the
 * guide's Helm path ends with the names the later steps use.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/deploy.js';

/** GatewayClasses GKE documents (docs.cloud.google.com/kubernetes-engine/docs/how-to/gatewayclass-capabilities). */
const GKE_CLASSES = [
  'gke-l7-global-external-managed',
  'gke-l7-global-external-managed-mc',
  'gke-l7-regional-external-managed',
  'gke-l7-regional-external-managed-mc',
  'gke-l7-cross-regional-internal-managed-mc',
  'gke-l7-rilb',
  'gke-l7-rilb-mc',
  'gke-l7-gxlb',
  'gke-l7-gxlb-mc',
];

/** Text files a user reads or applies: deploy/, docs/, README.md. */
function userFiles(): string[] {
  const out = ['README.md'];
  const walk = (dir: string) => {
    for (const f of readdirSync(join(ROOT, dir))) {
      const rel = `${dir}/${f}`;
      if (statSync(join(ROOT, rel)).isDirectory()) walk(rel);
      else if (/\.(ya?ml|md|tpl|txt)$/.test(f)) out.push(rel);
    }
  };
  walk('deploy');
  walk('docs');
  return out;
}

const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');
/** Shell commands of the fenced `sh` blocks, continuation lines joined, comments dropped. */
function commands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks
    .join('\n')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

describe('GKE path', () => {
  it('names only GatewayClasses GKE documents', () => {
    const files = userFiles();
    expect(files.length).toBeGreaterThan(20);
    let named = 0;
    for (const f of files)
      for (const m of read(f).matchAll(/gke-l7-[a-z0-9-]*[a-z0-9]/g)) {
        named++;
        expect(GKE_CLASSES, `${relative(ROOT, join(ROOT, f))}: ${m[0]}`).toContain(m[0]);
      }
    expect(named).toBeGreaterThan(5);
  });

  it.each(['README.md', 'docs/deploy-gke.md'])('%s: enables the APIs, sizes the default pool, sets Workload Identity, applies the alpha CRDs', (file) => {
    const cmds = commands(read(file));
    const enable = cmds.find((c) => c.startsWith('gcloud services enable'));
    expect(enable, 'gcloud services enable').toBeDefined();
    for (const api of ['networkservices.googleapis.com', 'compute.googleapis.com', 'container.googleapis.com']) expect(enable).toContain(api);
    const create = cmds.find((c) => c.startsWith('gcloud container clusters create'))!;
    expect(create).toMatch(/--machine-type=e2-standard-4\b/);
    expect(create).toContain('--workload-pool=$PROJECT_ID.svc.id.goog');
    expect(create).toContain('--gateway-api=standard');
    // The alpha CRDs: their own command, not behind `||` (GKE installs only InferencePool).
    const alpha = cmds.find((c) => c.includes('inferenceobjectives.inference.networking.x-k8s.io.yaml'))!;
    expect(alpha).toMatch(/^kubectl apply -f /);
    expect(alpha).toContain('inferencemodelrewrites.inference.networking.x-k8s.io.yaml');
    expect(alpha).not.toContain('||');
    expect(cmds.indexOf(enable!)).toBeLessThan(cmds.indexOf(create));
    expect(cmds).toContain('kubectl get gatewayclass');
  });

  it('the guide says why each cluster flag is there and covers the APIs in troubleshooting', () => {
    const guide = read('docs/deploy-gke.md');
    for (const why of ['`networkservices.googleapis.com`', '`--workload-pool=$PROJECT_ID.svc.id.goog`', '`--machine-type=e2-standard-4`']) expect(guide).toContain(why);
    const trouble = guide.slice(guide.indexOf('## Troubleshooting'));
    expect(trouble).toContain('gcloud services enable networkservices.googleapis.com compute.googleapis.com container.googleapis.com');
    expect(trouble).toContain('kubectl get gatewayclass');
  });

  it('the guide`s Helm path uses the release name that gives the plain manifests` names, and creates the objectives', () => {
    const cmds = commands(read('docs/deploy-gke.md'));
    const helm = cmds.find((c) => c.startsWith('helm install'))!;
    expect(helm).toMatch(/^helm install switchboard deploy\/helm\/switchboard /);
    expect(cmds[cmds.indexOf(helm) + 1]).toBe('kubectl apply -f deploy/manifests/objectives.yaml');
    // Later steps address the picker by the plain name.
    expect(cmds.some((c) => c.includes('deploy/switchboard'))).toBe(true);
  });

  it('deploy/README.md states the upstream version each part matches', () => {
    const readme = read('deploy/README.md');
    const table = readme.slice(readme.indexOf('## Upstream versions'));
    for (const part of readdirSync(join(ROOT, 'deploy')).filter((f) => statSync(join(ROOT, 'deploy', f)).isDirectory()))
      expect(table, part).toContain(`\`${part}/`);
    expect(table).toMatch(/v1\.5\.0/);
  });
});

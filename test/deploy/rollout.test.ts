/**
 * Rollouts of the picker finish: leader-elected replicas (only the leader is ready) use Recreate,
 * because a rolling update would wait forever for a standby to become ready; applying the
 * active-passive overlay over a running single-replica base leaves no `rollingUpdate` beside
 * `type: Recreate` (the API server rejects that object and the old pod keeps serving).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { at, DEPLOY } from '../support/deploy.js';
import { checkSwitchboardDeployment, rolloutFinishesWithOneReadyPod } from '../support/deploy-checks.js';
import { HelmRenderer } from '../support/helm-template.js';
import { kustomize, mergePatch } from '../support/kustomize.js';

type Json = Record<string, unknown>;
const deployment = (objs: Json[]) => objs.find((o) => o.kind === 'Deployment')!;
const leaderElected = (dep: Json) => checkSwitchboardDeployment(dep).values['ha-enable-leader-election'] === true;

/** What the API server stores for a strategy it was given (defaults filled in). */
function defaulted(strategy: Json | undefined): Json {
  // A null member in a created object is the same as an absent one.
  const s = Object.fromEntries(Object.entries(structuredClone(strategy ?? {})).filter(([, v]) => v !== null)) as Json;
  s.type ??= 'RollingUpdate';
  if (s.type === 'RollingUpdate') s.rollingUpdate = { maxSurge: '25%', maxUnavailable: '25%', ...((s.rollingUpdate as Json | undefined) ?? {}) };
  return s;
}

/** The API server's rule: rollingUpdate may only be set with type RollingUpdate. */
function strategyErrors(s: Json): string[] {
  return s.type === 'Recreate' && s.rollingUpdate !== undefined ? ['spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is \'Recreate\''] : [];
}

describe('picker rollouts', () => {
  it('the rollout model: two leader-elected replicas hang under the default RollingUpdate, finish under Recreate', () => {
    const dep = (strategy?: Json) => ({ spec: { replicas: 2, ...(strategy ? { strategy } : {}) } });
    expect(rolloutFinishesWithOneReadyPod(dep()).ok).toBe(false);
    expect(rolloutFinishesWithOneReadyPod(dep({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } })).ok).toBe(false);
    expect(rolloutFinishesWithOneReadyPod(dep({ type: 'Recreate' })).ok).toBe(true);
    expect(rolloutFinishesWithOneReadyPod(dep({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } })).ok).toBe(true);
  });

  it.each([
    ['manifests/switchboard', false, 1],
    ['manifests/switchboard-active-passive', true, 2],
    ['manifests/switchboard-active-active', false, 3],
  ])('%s: every leader-elected deployment can finish a rollout', (dir, elected, replicas) => {
    const dep = deployment(kustomize(dir));
    expect(leaderElected(dep)).toBe(elected);
    expect(at(dep, 'spec.replicas')).toBe(replicas);
    if (elected) {
      expect(at(dep, 'spec.strategy.type')).toBe('Recreate');
      expect(rolloutFinishesWithOneReadyPod(dep)).toMatchObject({ ok: true });
    } else {
      // Without leader election every replica becomes ready: surge first, never drop below `replicas`.
      expect(at(dep, 'spec.strategy')).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    }
    expect(strategyErrors(defaulted(at(dep, 'spec.strategy') as Json))).toEqual([]);
  });

  it('applying the active-passive overlay over the running base removes rollingUpdate', () => {
    const base = deployment(kustomize('manifests/switchboard'));
    const overlay = deployment(kustomize('manifests/switchboard-active-passive'));
    // The overlay says so explicitly (null deletes the live field in a merge patch and in
    // kubectl's client-side apply), whatever strategy the live object had.
    expect(at(overlay, 'spec.strategy')).toEqual({ type: 'Recreate', rollingUpdate: null });
    for (const live of [defaulted(at(base, 'spec.strategy') as Json), defaulted(undefined)]) {
      const merged = mergePatch(live, at(overlay, 'spec.strategy')) as Json;
      expect(merged).toEqual({ type: 'Recreate' });
      expect(strategyErrors(merged)).toEqual([]);
    }
    // Without the null, the defaulted rollingUpdate would survive the merge and be rejected.
    expect(strategyErrors(mergePatch(defaulted(undefined), { type: 'Recreate' }) as Json)).not.toEqual([]);
  });

  it.each([
    ['none', 1],
    ['active-passive', 2],
    ['active-active', 3],
  ])('helm ha.mode=%s: the rendered strategy lets the rollout finish and survives an upgrade from ha.mode=none', (mode, replicas) => {
    const chart = join(DEPLOY, 'helm', 'switchboard');
    const dep = deployment(new HelmRenderer().objects(chart, { replicas, ha: { mode } }));
    const elected = leaderElected(dep);
    expect(elected).toBe(mode === 'active-passive');
    if (elected) expect(rolloutFinishesWithOneReadyPod(dep)).toMatchObject({ ok: true });
    expect(at(dep, 'spec.strategy.type')).toBe(elected ? 'Recreate' : 'RollingUpdate');
    const before = deployment(new HelmRenderer().objects(chart));
    const merged = mergePatch(defaulted(at(before, 'spec.strategy') as Json), at(dep, 'spec.strategy')) as Json;
    expect(strategyErrors(merged)).toEqual([]);
  });
});

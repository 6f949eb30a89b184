/**
 * Objectives and model rewrites: the policy objects a request is matched against, fed from the
 * config file or from Kubernetes (InferenceObjective, InferenceModelRewrite).
 */
import type { ModelRewriteSpec, ObjectiveSpec } from '../config/types.js';

/** Priority by objective name (`x-gateway-inference-objective`). */
export class ObjectiveStore {
  private byName = new Map<string, number>();

  constructor(objectives: readonly ObjectiveSpec[] = []) {
    this.replace(objectives);
  }

  /** Replaces every objective (config reload, Kubernetes resync). */
  replace(objectives: readonly ObjectiveSpec[]): void {
    this.byName = new Map(objectives.map((o) => [o.name, o.priority]));
  }

  /** Sets one objective (Kubernetes watch event). */
  set(name: string, priority: number): void {
    this.byName.set(name, priority);
  }

  /** Removes one objective. */
  delete(name: string): void {
    this.byName.delete(name);
  }

  /** The priority of objective `name`; unknown or absent names mean 0. */
  priority(name: string | undefined): number {
    if (name === undefined || name === '') return 0;
    return this.byName.get(name) ?? 0;
  }
}

/** Weighted model rewrites matched by exact model name, with an optional catch-all. */
export class ModelRewriter {
  private byModel = new Map<string, ModelRewriteSpec['targets']>();
  private generic: ModelRewriteSpec['targets'] | null = null;

  constructor(rules: readonly ModelRewriteSpec[] = []) {
    this.replace(rules);
  }

  /**
   * Replaces every rule; for a model named twice, the first rule wins (oldest first).
   * `generic` applies to models no exact rule names (InferenceModelRewrite rules without matches).
   */
  replace(rules: readonly ModelRewriteSpec[], generic: ModelRewriteSpec['targets'] | null = null): void {
    const m = new Map<string, ModelRewriteSpec['targets']>();
    for (const r of rules) if (!m.has(r.model)) m.set(r.model, r.targets);
    this.byModel = m;
    this.generic = generic !== null && generic.length > 0 ? generic : null;
  }

  /** Whether any rule exists (lets the hot path skip the lookup). */
  get empty(): boolean {
    return this.byModel.size === 0 && this.generic === null;
  }

  /** The rewritten model for `model`, or null; `rng` picks among weighted targets. */
  rewrite(model: string, rng: () => number): string | null {
    const targets = this.byModel.get(model) ?? this.generic;
    if (targets === null || targets.length === 0) return null;
    let total = 0;
    for (const t of targets) total += t.weight;
    // A total weight of 0 means a uniform choice.
    if (total <= 0) return targets[Math.floor(rng() * targets.length)].model;
    let x = rng() * total;
    for (const t of targets) {
      x -= t.weight;
      if (x < 0) return t.model;
    }
    return targets[targets.length - 1].model;
  }
}

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

/** One rewrite rule, ready to pick a target. */
export class RewriteRule {
  private readonly total: number;

  constructor(
    /** Rule name (the InferenceModelRewrite's), for the decisions metric. */
    readonly name: string,
    readonly targets: ModelRewriteSpec['targets'],
  ) {
    let total = 0;
    for (const t of targets) total += t.weight;
    this.total = total;
  }

  /** A target model: weighted random, uniform when the weights sum to 0. */
  pick(rng: () => number): string {
    const targets = this.targets;
    if (this.total <= 0) return targets[Math.floor(rng() * targets.length)].model;
    let x = rng() * this.total;
    for (const t of targets) {
      x -= t.weight;
      if (x < 0) return t.model;
    }
    return targets[targets.length - 1].model;
  }
}

/** Weighted model rewrites matched by exact model name, with an optional catch-all. */
export class ModelRewriter {
  private byModel = new Map<string, RewriteRule>();
  private generic: RewriteRule | null = null;

  constructor(rules: readonly ModelRewriteSpec[] = []) {
    this.replace(rules);
  }

  /**
   * Replaces every rule; for a model named twice, the first rule wins (oldest first).
   * `generic` applies to models no exact rule names (InferenceModelRewrite rules without
   * matches); `genericName` names it in the decisions metric.
   */
  replace(rules: readonly ModelRewriteSpec[], generic: ModelRewriteSpec['targets'] | null = null, genericName = 'generic'): void {
    const m = new Map<string, RewriteRule>();
    for (const r of rules) if (!m.has(r.model) && r.targets.length > 0) m.set(r.model, new RewriteRule(r.name ?? r.model, r.targets));
    this.byModel = m;
    this.generic = generic !== null && generic.length > 0 ? new RewriteRule(genericName, generic) : null;
  }

  /** Whether any rule exists (lets the hot path skip the lookup). */
  get empty(): boolean {
    return this.byModel.size === 0 && this.generic === null;
  }

  /** The rule for `model` (an exact match, else the catch-all), if any. */
  rule(model: string): RewriteRule | undefined {
    return this.byModel.get(model) ?? this.generic ?? undefined;
  }

  /** The rewritten model for `model`, or null; `rng` picks among weighted targets. */
  rewrite(model: string, rng: () => number): string | null {
    return this.rule(model)?.pick(rng) ?? null;
  }
}

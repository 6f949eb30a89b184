/**
 * Statistics a plugin publishes for telemetry and the debug endpoints, found by typed key: the
 * core hands each consumer the source for the key it reads, without knowing which plugin it is.
 */

/** A typed name for one kind of statistics. */
export class StatsKey<T> {
  /** Phantom field carrying `T` (never set). */
  declare readonly __type?: T;

  constructor(readonly name: string) {}
}

/** A plugin that publishes statistics of kind `T`. */
export interface StatsSource<T = unknown> {
  readonly statsKey: StatsKey<T>;
  stats(): T;
}

/** Whether `p` publishes statistics. */
export function isStatsSource(p: object): p is StatsSource {
  const s = p as Partial<StatsSource>;
  return s.statsKey instanceof StatsKey && typeof s.stats === 'function';
}

/** The statistics sources among `plugins`, by key (the first source of a key wins). */
export class StatsSources {
  private readonly byKey = new Map<StatsKey<unknown>, StatsSource>();

  constructor(plugins: Iterable<object>) {
    for (const p of plugins) if (isStatsSource(p) && !this.byKey.has(p.statsKey)) this.byKey.set(p.statsKey, p);
  }

  /** A reader of the statistics under `key`, or null when no plugin publishes them. */
  reader<T>(key: StatsKey<T>): (() => T) | null {
    const s = this.byKey.get(key) as StatsSource<T> | undefined;
    return s === undefined ? null : () => s.stats();
  }
}

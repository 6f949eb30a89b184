/**
 * How much of the recent traffic carries a key (a prefix's hash, an adapter's name): an
 * exponentially decayed request count per key, over a half-life counted in requests. `share(key)`
 * is that key's part of the decayed total, so a system prompt carried by 70% of requests reads
 * about 0.7 and one conversation's turns read next to nothing.
 *
 * O(1) per request and no allocation once a key is known; at most `MAX_KEYS` keys (keys come
 * from clients), after which counting restarts.
 */
const MAX_KEYS = 65_536;

export class DecayedShare<K> {
  private readonly weight = new Map<K, number>();
  private readonly at = new Map<K, number>();
  private readonly decay: number;
  private seq = 0;
  private total = 0;

  constructor(halfLifeRequests: number) {
    this.decay = Math.pow(0.5, 1 / halfLifeRequests);
  }

  /** One request went by (with `key`, or none); returns `key`'s share now. */
  count(key: K | null): number {
    this.seq++;
    this.total = this.total * this.decay + 1;
    if (key === null) return 0;
    if (this.weight.size >= MAX_KEYS && !this.weight.has(key)) {
      this.weight.clear();
      this.at.clear();
    }
    const w = this.current(key) + 1;
    this.weight.set(key, w);
    this.at.set(key, this.seq);
    return w / this.total;
  }

  /** `key`'s share of the recent requests, 0..1. */
  share(key: K): number {
    return this.total > 0 ? this.current(key) / this.total : 0;
  }

  private current(key: K): number {
    const w = this.weight.get(key);
    if (w === undefined) return 0;
    return w * Math.pow(this.decay, this.seq - (this.at.get(key) as number));
  }
}

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
  /** Key -> its row in the two columns below (one Map lookup per request, not one per column). */
  private readonly index = new Map<K, number>();
  /** Per row: the decayed count as of `at`, and the request number it was last brought up to. */
  private weight = new Float64Array(64);
  private at = new Float64Array(64);
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
    let row = this.index.get(key);
    if (row === undefined) {
      if (this.index.size >= MAX_KEYS) this.index.clear();
      row = this.index.size;
      if (row >= this.weight.length) this.grow();
      this.index.set(key, row);
      this.weight[row] = 0;
      this.at[row] = this.seq;
    }
    const w = this.current(row) + 1;
    this.weight[row] = w;
    this.at[row] = this.seq;
    return w / this.total;
  }

  /** `key`'s share of the recent requests, 0..1. */
  share(key: K): number {
    const row = this.index.get(key);
    return row === undefined || this.total <= 0 ? 0 : this.current(row) / this.total;
  }

  private current(row: number): number {
    return this.weight[row] * Math.pow(this.decay, this.seq - this.at[row]);
  }

  private grow(): void {
    const n = Math.min(MAX_KEYS, this.weight.length * 2);
    const w = new Float64Array(n);
    const a = new Float64Array(n);
    w.set(this.weight);
    a.set(this.at);
    this.weight = w;
    this.at = a;
  }
}

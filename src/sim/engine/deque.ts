/** A growable ring buffer with O(1) push/shift/unshift at both ends (the engine's waiting queue). */
export class Deque<T> {
  private buf: Array<T | undefined>;
  private head = 0;
  private size = 0;

  constructor(capacity = 64) {
    this.buf = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** Item at position `i` from the front. */
  at(i: number): T {
    return this.buf[(this.head + i) % this.buf.length] as T;
  }

  push(v: T): void {
    if (this.size === this.buf.length) this.grow();
    this.buf[(this.head + this.size) % this.buf.length] = v;
    this.size++;
  }

  unshift(v: T): void {
    if (this.size === this.buf.length) this.grow();
    this.head = (this.head - 1 + this.buf.length) % this.buf.length;
    this.buf[this.head] = v;
    this.size++;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const v = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.size--;
    return v;
  }

  /** Removes the first occurrence of `v`; O(n). */
  remove(v: T): boolean {
    for (let i = 0; i < this.size; i++) {
      if (this.at(i) !== v) continue;
      for (let j = i; j < this.size - 1; j++) {
        this.buf[(this.head + j) % this.buf.length] = this.at(j + 1);
      }
      this.buf[(this.head + this.size - 1) % this.buf.length] = undefined;
      this.size--;
      return true;
    }
    return false;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.size; i++) yield this.at(i);
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.buf.length * 2);
    for (let i = 0; i < this.size; i++) next[i] = this.at(i);
    this.buf = next;
    this.head = 0;
  }
}

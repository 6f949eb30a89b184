/**
 * Candidates are slots of the endpoint pool, held in reusable typed arrays: scoring reads the
 * pool's columns directly and allocates nothing per request.
 */

/** A list of pool slots; `slots[0..length)` are valid. */
export class Candidates {
  slots: Int32Array;
  length = 0;

  constructor(capacity: number) {
    this.slots = new Int32Array(capacity);
  }

  /** Grows the buffer to hold `capacity` slots (contents are not kept). */
  ensure(capacity: number): void {
    if (this.slots.length < capacity) this.slots = new Int32Array(capacity);
  }

  /** Appends a slot (the buffer must be large enough). */
  push(slot: number): void {
    this.slots[this.length++] = slot;
  }
}

/**
 * Timers for admission (queue TTLs, dispatch re-checks). Production uses the event loop's; the
 * virtual-time simulator injects its discrete-event scheduler so a queued request expires at
 * the right virtual time.
 */

/** Schedules and cancels one-shot callbacks; delays are in the pool clock's milliseconds. */
export interface Timers {
  set(delayMs: number, fn: () => void): unknown;
  clear(handle: unknown): void;
}

/** Event-loop timers that do not keep the process alive on their own. */
export const systemTimers: Timers = {
  set(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    t.unref();
    return t;
  },
  clear(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

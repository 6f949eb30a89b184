/** An interruptible sleep for background loops: `wake()` ends the current sleep at once. */
export class Sleeper {
  private wakeCurrent: (() => void) | null = null;
  private closed = false;

  /** Resolves after `ms`, or at once when woken or closed. */
  sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        if (this.wakeCurrent === done) this.wakeCurrent = null;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakeCurrent = done;
    });
  }

  /** Ends the current sleep and every later one (the loop is stopping). */
  close(): void {
    this.closed = true;
    this.wakeCurrent?.();
  }
}

/**
 * A terminal progress bar on stderr. On a TTY it redraws one line; otherwise it prints a line
 * at each quarter so CI logs stay short.
 */
export class ProgressBar {
  private lastQuarter = -1;
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly width = 30,
  ) {
    this.tty = out.isTTY === true;
  }

  /** Shows `fraction` (0..1) of `label` done. */
  update(label: string, fraction: number, detail = ''): void {
    const f = Math.max(0, Math.min(1, fraction));
    if (this.tty) {
      const filled = Math.round(f * this.width);
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${label} ${detail}\x1b[K`);
      return;
    }
    const q = Math.floor(f * 4);
    if (q !== this.lastQuarter) {
      this.lastQuarter = q;
      this.out.write(`${label}: ${q * 25}% ${detail}\n`);
    }
  }

  /** Ends the current bar. */
  done(label: string, detail = ''): void {
    if (this.tty) this.out.write(`\r[${'#'.repeat(this.width)}] 100% ${label} ${detail}\x1b[K\n`);
    else this.out.write(`${label}: done ${detail}\n`);
    this.lastQuarter = -1;
  }
}

/**
 * Counts runs of a batch and estimates the time left from the time spent so far (runs of one
 * batch are of similar size, so the mean per run extrapolates).
 */
export class RunCounter {
  private done = 0;
  private readonly t0: number;

  constructor(
    readonly total: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.t0 = now();
  }

  /** `run i/n` for the run in progress. */
  label(): string {
    return `run ${Math.min(this.done + 1, this.total)}/${this.total}`;
  }

  /** Marks one run finished. */
  finish(): void {
    this.done++;
  }

  /** Time left, `fraction` of the current run being done; `?` until something has finished. */
  eta(fraction = 0): string {
    const progress = this.done + Math.max(0, Math.min(1, fraction));
    if (progress <= 0) return 'ETA ?';
    const perRun = (this.now() - this.t0) / progress;
    return `ETA ${formatDuration(perRun * Math.max(0, this.total - progress))}`;
  }

  /** Wall time since the counter started, ms. */
  elapsedMs(): number {
    return this.now() - this.t0;
  }
}

/** `42s`, `3m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

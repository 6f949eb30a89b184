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

/**
 * A bounded, asynchronous line appender: `push` only queues (O(1), never waits, never throws);
 * batches go to the file with one write in flight at a time. When the queue is full (a slow or
 * stuck disk) new lines are dropped and counted; a failed write (ENOSPC, EIO, a removed
 * directory) loses its batch, is counted, and later batches try again. Requests never wait for
 * the disk.
 */
import { open, type FileHandle } from 'node:fs/promises';

export interface LineWriterOptions {
  path: string;
  /** Most lines queued (written or not yet); more are dropped. */
  maxQueuedLines: number;
  /** A batch is written at least this often while lines wait, ms. */
  flushIntervalMs: number;
  /** A batch is written as soon as this many lines wait. */
  batchLines: number;
  /** Called with each write error (rate-limited by the caller if it logs). */
  onError?: (err: Error) => void;
}

export class LineWriter<T> {
  written = 0;
  droppedFull = 0;
  droppedError = 0;
  private queue: T[] = [];
  private file: FileHandle | null = null;
  private opening: Promise<FileHandle> | null = null;
  private writing = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private scheduled = false;
  private idle: Array<() => void> = [];

  constructor(
    private readonly o: LineWriterOptions,
    /** Turns a queued item into its line (no newline); runs off the request path, at flush time. */
    private readonly format: (item: T) => string,
  ) {}

  /** Queues one item; drops it (counted) when the queue is full or the writer closed. */
  push(item: T): void {
    if (this.closed || this.queue.length >= this.o.maxQueuedLines) {
      this.droppedFull++;
      return;
    }
    this.queue.push(item);
    if (this.queue.length >= this.o.batchLines) this.kick();
    else if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.kick();
      }, this.o.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Lines waiting for the disk. */
  get queued(): number {
    return this.queue.length;
  }

  /** Writes what is queued, then closes the file; later pushes are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.drain();
    const f = this.file;
    this.file = null;
    await f?.close().catch(() => undefined);
  }

  /** Resolves once nothing is queued or being written. */
  drain(): Promise<void> {
    if (this.queue.length === 0 && !this.writing) return Promise.resolve();
    this.kick();
    return new Promise((r) => this.idle.push(r));
  }

  private kick(): void {
    if (this.writing || this.scheduled) return;
    // The write starts on a later tick: the request that pushed the line finishes first.
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        let text = '';
        for (const item of batch) text += this.format(item) + '\n';
        try {
          const f = this.file ?? (await this.openFile());
          await f.write(text);
          this.written += batch.length;
        } catch (e) {
          this.droppedError += batch.length;
          // Reopen next time: the file may have been removed or rotated away.
          const f = this.file;
          this.file = null;
          this.opening = null;
          await f?.close().catch(() => undefined);
          this.o.onError?.(e as Error);
        }
      }
    } finally {
      this.writing = false;
      for (const r of this.idle.splice(0)) r();
    }
  }

  private openFile(): Promise<FileHandle> {
    this.opening ??= open(this.o.path, 'a').then((f) => (this.file = f));
    return this.opening;
  }
}

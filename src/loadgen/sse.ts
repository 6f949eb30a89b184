/**
 * Incremental Server-Sent Events parser for streamed OpenAI responses: bytes in, complete
 * `data:` payloads out. Events may be split across chunks or share one.
 */
import { StringDecoder } from 'node:string_decoder';

export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private carry = '';
  private data: string[] = [];

  /** Feeds a chunk; calls `onData` for every complete event's data (lines joined by `\n`). */
  push(chunk: Buffer | string, onData: (data: string) => void): void {
    const text = this.carry + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      let line = text.slice(start, nl);
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (this.data.length > 0) {
          const d = this.data.join('\n');
          this.data = [];
          onData(d);
        }
      } else if (line.startsWith('data:')) {
        this.data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
      }
      // Comments (":...") and other fields (event:, id:, retry:) carry nothing we need.
    }
    this.carry = text.slice(start);
  }

  /** Flushes an event left without its closing blank line at end of stream. */
  end(onData: (data: string) => void): void {
    if (this.carry.startsWith('data:')) this.data.push(this.carry.replace(/^data: ?/, '').replace(/\r$/, ''));
    this.carry = '';
    if (this.data.length > 0) {
      const d = this.data.join('\n');
      this.data = [];
      onData(d);
    }
  }
}

/** Small helpers for tests that talk to real servers. */
import type { Readable } from 'node:stream';

/** Reads an SSE body to its end and returns each event's `data` payload. */
export async function readSse(body: Readable): Promise<string[]> {
  let text = '';
  for await (const chunk of body) text += (chunk as Buffer).toString('utf8');
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice('data: '.length));
}

/** Polls `cond` every `everyMs` until it holds; fails after `limitMs`. */
export async function until(cond: () => boolean, everyMs = 10, limitMs = 5000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

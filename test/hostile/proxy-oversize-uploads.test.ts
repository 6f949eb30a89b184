/**
 * Bodies the proxy refuses (over the 16 MiB default limit: 413; over the shared body budget: 503)
 * reach real clients as that status and its OpenAI error, never as a broken connection: Node's
 * fetch (undici) and the official openai client upload from their own process, with and without
 * content-length, while other requests keep being served. A refused upload is read and thrown
 * away for a bounded number of bytes and time (lingering close), counted, and never buffered.
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PROXY_SETTINGS } from '../../src/frontends/proxy/options.js';
import { startTwoDoors, type TwoDoors } from '../support/two-doors.js';
import type { Upload, UploadResult } from '../support/upload-client.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MB = 1024 * 1024;
const LIMIT = DEFAULT_PROXY_SETTINGS.maxBodyBytes;
const BUDGET = 24 * MB;
const TOO_LARGE = { code: 'SB_ERR_BODY_TOO_LARGE', message: `request body exceeds ${LIMIT} bytes`, type: 'invalid_request_error' };
const OVERLOADED = { code: 'SB_ERR_OVERLOADED', message: `switchboard overloaded: request bodies held by the proxy exceed ${BUDGET} bytes`, type: 'service_unavailable_error' };

/** Polls `td`'s metric until it reaches `value` (at most 10 s); returns its last value. */
async function metricReaches(td: TwoDoors, name: string, labels: Record<string, string>, value: number): Promise<number> {
  let v = await td.metric(name, labels);
  for (let i = 0; i < 400 && v < value; i++) {
    await new Promise((r) => setTimeout(r, 25));
    v = await td.metric(name, labels);
  }
  return v;
}

/**
 * A full garbage collection on demand (V8's `gc`, exposed for this process at run time). Array
 * buffers are swept on the same thread, so what a collection frees is off the count when it returns.
 */
function fullGc(): () => void {
  setFlagsFromString('--expose-gc');
  setFlagsFromString('--no-concurrent-array-buffer-sweeping');
  return runInNewContext('gc') as () => void;
}

/** Runs the uploads one after another in a client process; one result per upload. */
function uploadFromAnotherProcess(uploads: Upload[]): Promise<UploadResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', join(repo, 'test/support/ts-run/register.mjs'), join(repo, 'test/support/upload-client.ts'), JSON.stringify(uploads)], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (err += t));
    const timer = setTimeout(() => child.kill(), 90_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`upload client exited ${code}: ${err}`));
      resolve(out.trim().split('\n').map((l) => JSON.parse(l) as UploadResult));
    });
  });
}

const small = (prompt = 'steady') => JSON.stringify({ model: 'base-model', prompt });

/**
 * Small requests sent one after another until `done` settles (at most 300): every one must be
 * answered 200, whatever the uploads beside them do.
 */
async function servedMeanwhile(td: TwoDoors, done: Promise<unknown>): Promise<number> {
  let over = false;
  void done.finally(() => (over = true));
  let served = 0;
  for (let i = 0; i < 300 && !over; i++) {
    const res = await request(`${td.proxyUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: small() });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    served++;
    await new Promise((r) => setTimeout(r, 20));
  }
  return served;
}

async function uploadWhileServing(td: TwoDoors, uploads: Upload[]): Promise<UploadResult[]> {
  const results = uploadFromAnotherProcess(uploads);
  const [out, served] = await Promise.all([results, servedMeanwhile(td, results)]);
  expect(served).toBeGreaterThan(0);
  // And after.
  const res = await request(`${td.proxyUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: small() });
  expect(res.statusCode).toBe(200);
  await res.body.text();
  return out;
}

/** Starts an upload that declares `bytes` and sends only half of them, holding budget. */
function slowUpload(td: TwoDoors, bytes: number): { req: ClientRequest; done: Promise<void> } {
  const url = new URL(`${td.proxyUrl}/v1/completions`);
  const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: url.pathname, headers: { 'content-type': 'application/json', 'content-length': String(bytes) } });
  const done = new Promise<void>((resolve) => {
    req.on('error', () => resolve());
    req.on('close', () => resolve());
  });
  req.write(Buffer.alloc(bytes >> 1, 0x20));
  return { req, done };
}

/**
 * A raw client that declares `declared` bytes and then writes `writeBytes` as the socket takes
 * them. It keeps its side open after the proxy's FIN, as a client busy writing does.
 */
function rawUpload(proxyUrl: string, declared: number, writeBytes: number): { socket: Socket; response: Promise<string>; closed: Promise<void> } {
  const url = new URL(proxyUrl);
  const socket = connect({ port: Number(url.port), host: url.hostname, allowHalfOpen: true });
  let response = '';
  socket.setEncoding('latin1').on('data', (t: string) => (response += t));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  // The answer is whole at the proxy's FIN (the client, half open, may still be writing).
  const answered = new Promise<void>((resolve) => {
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
  });
  socket.write(`POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${declared}\r\n\r\n`);
  let sent = 0;
  const piece = Buffer.alloc(64 * 1024, 0x20);
  const pump = (): void => {
    while (sent < writeBytes && !socket.destroyed) {
      sent += piece.length;
      if (!socket.write(piece)) return void socket.once('drain', pump);
    }
  };
  pump();
  return { socket, response: answered.then(() => response), closed };
}

describe('over-limit and over-budget uploads get their status, not a broken connection', () => {
  let td: TwoDoors;
  beforeAll(async () => {
    td = await startTwoDoors({ pods: 1, proxy: { maxBufferedBytes: BUDGET } });
  });
  afterAll(async () => {
    await td?.close();
  });

  for (const client of ['fetch', 'openai'] as const) {
    it(`${client}: 17, 30 and 60 MB bodies get 413 with the OpenAI error; others are served meanwhile`, async () => {
      const before = await td.metric('switchboard_proxy_errors_total', { code: 'SB_ERR_BODY_TOO_LARGE' });
      const lingered = async () =>
        (await td.metric('switchboard_proxy_lingering_closes_total', { reason: 'body_end' })) + (await td.metric('switchboard_proxy_lingering_closes_total', { reason: 'client_closed' }));
      const lingeredBefore = await lingered();
      const results = await uploadWhileServing(td, [17, 30, 60].map((mb) => ({ url: td.proxyUrl, client, promptBytes: mb * MB })));
      for (const r of results) expect(r).toEqual({ status: 413, error: TOO_LARGE });
      expect(await td.metric('switchboard_proxy_errors_total', { code: 'SB_ERR_BODY_TOO_LARGE' })).toBe(before + 3);
      // Each connection lingered until its body ended or the client, holding its answer, closed.
      expect(await lingered()).toBe(lingeredBefore + 3);
    }, 120_000);
  }

  it('a chunked upload crossing the limit mid-stream gets 413, and holds no budget afterwards', async () => {
    const results = await uploadWhileServing(td, [20, 60].map((mb) => ({ url: td.proxyUrl, client: 'fetch' as const, promptBytes: mb * MB, chunked: true })));
    for (const r of results) expect(r).toEqual({ status: 413, error: TOO_LARGE });
    // The discarded bytes were not charged to the body budget: a body needing most of it fits.
    const res = await request(`${td.proxyUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: small('y'.repeat(15 * MB)) });
    expect(res.statusCode).toBe(200);
    await res.body.text();
  }, 120_000);

  it('bodies over the shared budget get 503 before they are read, with and without content-length', async () => {
    const before = await td.metric('switchboard_proxy_errors_total', { code: 'SB_ERR_OVERLOADED' });
    // Two slow uploads declare 8 MiB each: 16 of the 24 MiB are held.
    const holders = [slowUpload(td, 8 * MB), slowUpload(td, 8 * MB)];
    await new Promise((r) => setTimeout(r, 100));
    const results = await uploadWhileServing(td, [
      { url: td.proxyUrl, client: 'fetch', promptBytes: 10 * MB },
      { url: td.proxyUrl, client: 'openai', promptBytes: 15 * MB },
      { url: td.proxyUrl, client: 'fetch', promptBytes: 15 * MB, chunked: true },
    ]);
    for (const r of results) expect(r).toEqual({ status: 503, error: OVERLOADED });
    expect(await td.metric('switchboard_proxy_errors_total', { code: 'SB_ERR_OVERLOADED' })).toBe(before + 3);
    for (const h of holders) h.req.destroy();
    await Promise.all(holders.map((h) => h.done));
    const res = await request(`${td.proxyUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: small('y'.repeat(15 * MB)) });
    expect(res.statusCode).toBe(200);
    await res.body.text();
  }, 120_000);

  it('answers an Expect: 100-continue upload over the limit with 413 and no 100 Continue', async () => {
    const url = new URL(`${td.proxyUrl}/v1/completions`);
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      method: 'POST',
      path: url.pathname,
      headers: { 'content-type': 'application/json', 'content-length': String(60 * MB), expect: '100-continue' },
    });
    let continued = false;
    req.on('continue', () => (continued = true));
    const answer = await new Promise<{ status: number; text: string; connection: string | undefined }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (t: string) => (text += t));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, connection: res.headers.connection }));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    req.destroy();
    expect(continued).toBe(false);
    expect(answer.status).toBe(413);
    expect(answer.connection).toBe('close');
    expect(JSON.parse(answer.text).error).toEqual({ ...TOO_LARGE, param: null });
  });

  it('still says 100 Continue to an Expect upload that fits, and routes it', async () => {
    const url = new URL(`${td.proxyUrl}/v1/completions`);
    const body = Buffer.from(small('z'.repeat(2 * MB)));
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      method: 'POST',
      path: url.pathname,
      headers: { 'content-type': 'application/json', 'content-length': String(body.length), expect: '100-continue' },
    });
    let continued = false;
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    const status = await new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(continued).toBe(true);
    expect(status).toBe(200);
  });
});

describe('the discard after a refusal is bounded', () => {
  let td: TwoDoors;
  beforeAll(async () => {
    td = await startTwoDoors({ pods: 1, proxy: { maxBodyBytes: 64 * 1024, lingeringClose: { maxBytes: 1 * MB, timeMs: 300 } } });
  });
  afterAll(async () => {
    await td?.close();
  });

  it('closes after the byte cap when the client keeps sending', async () => {
    const before = await td.metric('switchboard_proxy_lingering_closes_total', { reason: 'byte_cap' });
    const up = rawUpload(td.proxyUrl, 60 * MB, 60 * MB);
    await up.closed;
    expect(await td.metric('switchboard_proxy_lingering_closes_total', { reason: 'byte_cap' })).toBe(before + 1);
  });

  it('closes after the time cap when the client stalls mid-body, having answered 413 first', async () => {
    const before = await td.metric('switchboard_proxy_lingering_closes_total', { reason: 'time_cap' });
    const up = rawUpload(td.proxyUrl, 10 * MB, 256 * 1024);
    const text = await up.response;
    // The proxy gives up on the stalled body after its time cap (the client keeps its side open).
    expect(await metricReaches(td, 'switchboard_proxy_lingering_closes_total', { reason: 'time_cap' }, before + 1)).toBe(before + 1);
    up.socket.destroy();
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toContain('"code":"SB_ERR_BODY_TOO_LARGE"');
  });
});

describe('a refused body is dropped as it arrives, never held', () => {
  let td: TwoDoors;
  beforeAll(async () => {
    td = await startTwoDoors({ pods: 1, proxy: { maxBodyBytes: 64 * 1024, lingeringClose: { maxBytes: 256 * MB, timeMs: 60_000 } } });
  });
  afterAll(async () => {
    await td?.close();
  });

  it('reads a 200 MB refused upload to its end, holding none of it', async () => {
    const BODY = 200 * MB;
    const before = await td.metric('switchboard_proxy_discarded_request_bytes_total');
    // Dropped chunks wait for the garbage collector, which runs when V8 sees fit (a peak of
    // external memory says more about its heuristics than about us). What is *held* is what a
    // full collection leaves: whenever memory has grown, collect and sample what survives.
    const gc = fullGc();
    gc();
    const base = process.memoryUsage().arrayBuffers;
    let held = 0;
    let survivors = base;
    let collections = 0;
    const sampler = setInterval(() => {
      if (process.memoryUsage().arrayBuffers - survivors < 16 * MB) return;
      gc();
      collections++;
      survivors = process.memoryUsage().arrayBuffers;
      held = Math.max(held, survivors - base);
    }, 5);
    // The client writes one reused 64 KiB buffer: what grows is the proxy's side.
    const up = rawUpload(td.proxyUrl, BODY, BODY);
    const text = await up.response;
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(await metricReaches(td, 'switchboard_proxy_lingering_closes_total', { reason: 'body_end' }, 1)).toBe(1);
    clearInterval(sampler);
    up.socket.destroy();
    expect(await td.metric('switchboard_proxy_discarded_request_bytes_total')).toBe(before + BODY);
    // Memory did grow past the sampler's trigger (so the samples measured something), and
    // each collection freed it: holding the body would keep up to all 200 MB alive.
    expect(collections).toBeGreaterThan(0);
    expect(held).toBeLessThan(16 * MB);
  }, 60_000);
});

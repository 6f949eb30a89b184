/**
 * The proxy's shared request-body budget: slow or large uploads together cannot hold more than
 * `maxBufferedBytes`; a body that does not fit is refused with 503 before it is read, counted,
 * and the budget comes back as exchanges end. Real HTTP clients against the real proxy and core.
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwoDoors, type TwoDoors } from '../support/two-doors.js';

const BUDGET = 1024 * 1024;
let td: TwoDoors;

beforeAll(async () => {
  td = await startTwoDoors({ pods: 1, proxy: { maxBufferedBytes: BUDGET } });
});
afterAll(async () => {
  await td?.close();
});

/** Starts an upload that declares `bytes` and sends only half of them. */
function slowUpload(bytes: number, chunked = false): { req: ClientRequest; answer: Promise<{ status: number; text: string }> } {
  const url = new URL(`${td.proxyUrl}/v1/completions`);
  const req = httpRequest({
    host: url.hostname,
    port: url.port,
    method: 'POST',
    path: url.pathname,
    headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': String(bytes) }) },
  });
  const answer = new Promise<{ status: number; text: string }>((resolve) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', () => resolve({ status: -1, text: '' }));
  });
  req.write(Buffer.alloc(bytes >> 1, 0x20));
  return { req, answer };
}

const body = (pad: number) => JSON.stringify({ model: 'base-model', prompt: 'x', pad: ' '.repeat(pad) });

describe('proxy request-body budget', () => {
  it('refuses a body that does not fit with 503, counts it, and frees the budget as uploads end', async () => {
    const before = await td.metric('switchboard_proxy_errors_total', { code: 'SB_ERR_OVERLOADED' });
    const a = slowUpload(400 * 1024);
    const b = slowUpload(400 * 1024);
    await new Promise((r) => setTimeout(r, 100));
    // 800 KiB are held; 300 KiB more do not fit.
    const refused = await request(`${td.proxyUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(300 * 1024) });
    expect(refused.statusCode).toBe(503);
    expect(JSON.parse(await refused.body.text()).error).toMatchObject({ code: 'SB_ERR_OVERLOADED', message: `switchboard overloaded: request bodies held by the proxy exceed ${BUDGET} bytes` });
    expect(await td.metric('switchboard_proxy_errors_total', { code: 'SB_ERR_OVERLOADED' })).toBe(before + 1);
    // A small request still fits.
    const small = await request(`${td.proxyUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(10) });
    expect(small.statusCode).toBe(200);
    await small.body.text();
    // The slow uploads give up; their share comes back.
    a.req.destroy();
    b.req.destroy();
    await Promise.all([a.answer, b.answer]);
    const later = await request(`${td.proxyUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(900 * 1024) });
    expect(later.statusCode).toBe(200);
    await later.body.text();
  });

  it('counts chunked uploads as they arrive', async () => {
    const a = slowUpload(1800 * 1024, true); // half of it, 900 KiB, is sent
    await new Promise((r) => setTimeout(r, 100));
    const refused = await request(`${td.proxyUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(200 * 1024) });
    expect(refused.statusCode).toBe(503);
    await refused.body.text();
    a.req.destroy();
    await a.answer;
    const later = await request(`${td.proxyUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(200 * 1024) });
    expect(later.statusCode).toBe(200);
    await later.body.text();
  });
});

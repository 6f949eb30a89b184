/**
 * The live dashboard in a real browser: `switchboard serve` in process with the dashboard and a
 * static token on the metrics port, three model servers on loopback serving vLLM pages, requests
 * through the real director, and headless Chromium opening /dashboard. The page loads with no
 * request leaving the metrics port, charts draw data, values follow the model servers, an
 * endpoint whose metrics stop turns stale, and wrong or missing tokens get 401. Screenshots go
 * to test/out/ (untracked) for a human look.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFlags } from '../../../src/cli/flags.js';
import { SERVE_FLAGS } from '../../../src/cli/serve-flags.js';
import { startServe, stopAll, type Started } from '../../../src/cli/serve.js';
import { defaultConfig } from '../../../src/config/defaults.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { launchBrowser, screenshot } from '../../support/browser.js';
import { MetricsServer, vllmPage } from '../../support/metrics-server.js';

const TOKEN = 'dashboard-test-token-0123456789';
/** A shared system prompt several prefix blocks long. */
const SYSTEM = 'You are a helpful assistant that answers questions about a SQL database of orders, customers and products. '.repeat(4);
const logger = createLogger('silent');
let browser: Browser;
let started: Started;
let pods: MetricsServer[];
let base: string;
let dir: string;
let traffic: NodeJS.Timeout | null = null;

/** Routes one request through the director and finishes it, as a front door would. */
async function sendOne(i: number): Promise<void> {
  const d = await started.core.director.handleRequest({
    requestId: `r${i}`,
    path: '/v1/completions',
    headers: { get: () => undefined },
    // A shared system prefix, so the prefix index has something to match.
    body: Buffer.from(JSON.stringify({ model: i % 3 === 0 ? 'sql-lora' : 'base', prompt: `${SYSTEM} Question number ${i % 5}: what is in the table?` })),
    subset: null,
  });
  if (d.kind !== 'route') return;
  // The test plays the front door: a streamed response whose chunks arrive a few ms apart, so
  // the real lifecycle measures TTFT and TPOT for the endpoint that served it.
  const l = d.lifecycle;
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await wait(4 + (i % 3) * 4);
  l.responseHeaders(200, 'text/event-stream');
  for (const text of ['a', 'b', 'c']) {
    l.responseBody(Buffer.from(`data: {"id":"c","object":"text_completion","choices":[{"index":0,"text":"${text}"}]}\n\n`), false);
    await wait(2);
  }
  l.responseBody(Buffer.from('data: {"id":"c","object":"text_completion","choices":[],"usage":{"prompt_tokens":40,"completion_tokens":3,"total_tokens":43}}\n\ndata: [DONE]\n\n'), true);
  l.finish('ok');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-dashboard-'));
  writeFileSync(join(dir, 'token'), TOKEN);
  pods = await Promise.all([0, 1, 2].map(() => new MetricsServer().start()));
  pods[0].page = vllmPage({ waiting: 1, running: 4, kv: 0.25, maxLora: 2, running_lora: 'sql-lora' });
  pods[1].page = vllmPage({ waiting: 3, running: 6, kv: 0.5, maxLora: 2, running_lora: 'chat-lora', waiting_lora: 'sql-lora' });
  pods[2].page = vllmPage({ waiting: 0, running: 2, kv: 0.1, maxLora: 2 });
  const flags = parseFlags(SERVE_FLAGS, [
    `--endpoints=${pods.map((p) => `127.0.0.1:${p.port}`).join(',')}`,
    '--metrics-port=0',
    '--grpc-port=-1',
    '--bind-address=127.0.0.1',
    '--refresh-metrics-interval=50ms',
    '--metrics-staleness-threshold=800ms',
    '--pool-name=browser-pool',
    '--enable-dashboard',
    '--metrics-endpoint-auth',
    `--metrics-token-file=${join(dir, 'token')}`,
  ]);
  started = await startServe(flags, defaultConfig(), logger);
  base = `http://127.0.0.1:${started.metricsPort}`;
  // Bounded traffic: at most 600 requests, one every 25 ms, plus one malformed body every 40th.
  let i = 0;
  traffic = setInterval(() => {
    if (++i > 600) return;
    if (i % 40 === 0) {
      void started.core.director.handleRequest({ requestId: `bad${i}`, path: '/v1/completions', headers: { get: () => undefined }, body: Buffer.from('{"model":'), subset: null });
    } else void sendOne(i);
  }, 25);
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  if (traffic !== null) clearInterval(traffic);
  await browser?.close();
  if (started !== undefined) await stopAll(started.closables, logger);
  for (const p of pods ?? []) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Opens the dashboard with `authorization`; records every URL the page asks for. */
async function open(authorization: string | null): Promise<{ page: Page; status: number; urls: string[]; errors: string[] }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1440, height: 1000, deviceScaleFactor: 1 });
  if (authorization !== null) await page.setExtraHTTPHeaders({ authorization });
  const urls: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  const res = await page.goto(`${base}/dashboard`, { waitUntil: 'load' });
  return { page, status: res?.status() ?? 0, urls, errors };
}

// Code that runs in the page is passed as text: the project compiles without the DOM library.

/** Frames the page has drawn. */
const frames = (page: Page) => page.evaluate(`Number(document.body.getAttribute('data-frames') || '0')`) as Promise<number>;
/** Waits until the page has drawn `n` frames. */
const framesAtLeast = (page: Page, n: number, timeout = 10_000) => page.waitForFunction(`Number(document.body.getAttribute('data-frames') || '0') >= ${n}`, { timeout });

/** Opaque pixels of a chart's canvas in one of the three endpoints' series colours (lines on equal values overlap). */
function seriesPixels(page: Page, chartId: string): Promise<number> {
  return page.evaluate(`(() => {
    const canvas = document.querySelector('#chart-${chartId} canvas');
    if (canvas === null) return -1;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const colours = [[47, 126, 216], [228, 87, 46], [41, 163, 90]];
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] === 255 && colours.some((c) => c[0] === data[i] && c[1] === data[i + 1] && c[2] === data[i + 2])) n++;
    }
    return n;
  })()`) as Promise<number>;
}

/** The endpoints table as {key: {status, kv}}. */
function rows(page: Page): Promise<Record<string, { status: string; kv: string }>> {
  return page.evaluate(`(() => {
    const out = {};
    for (const tr of document.querySelectorAll('#endpoints tr')) {
      out[tr.getAttribute('data-endpoint')] = { status: tr.getAttribute('data-status'), kv: tr.children[4].textContent };
    }
    return out;
  })()`) as Promise<Record<string, { status: string; kv: string }>>;
}

describe('live dashboard in Chromium', () => {
  it('loads with the token, draws charts and decisions, follows the model servers, and shows a silent endpoint as stale', async () => {
    const { page, status, urls, errors } = await open(`Bearer ${TOKEN}`);
    expect(status).toBe(200);
    await framesAtLeast(page, 3, 15_000);
    // Self-contained: the page and its event stream, nothing else, nothing off this port.
    expect(urls.every((u) => u.startsWith(`${base}/dashboard`))).toBe(true);
    expect(urls).toContain(`${base}/dashboard/events`);

    const table = await rows(page);
    const keys = pods.map((p) => `127.0.0.1:${p.port}`);
    expect(Object.keys(table).sort()).toEqual([...keys].sort());
    expect(table[keys[0]]).toEqual({ status: 'fresh', kv: '25.0%' });
    expect(table[keys[1]].kv).toBe('50.0%');
    expect(await page.$eval('#pool-name', (e) => e.textContent)).toBe('pool browser-pool');
    // Loaded and waiting adapters from the LoRA info line.
    const adapters = await page.$eval(`tr[data-endpoint="${keys[1]}"]`, (tr) => [tr.children[9].textContent, tr.children[10].textContent]);
    expect(adapters).toEqual(['chat-lora (max 2)', 'sql-lora']);

    await screenshot(page, 'dashboard-first-frames');
    // Charts: every endpoint chart has a canvas with the first endpoint's line drawn on it.
    for (const id of ['kv', 'waiting', 'running', 'inflight', 'picks', 'ttft', 'tpot']) expect(await seriesPixels(page, id)).toBeGreaterThan(20);
    // Observed latency of the endpoint that took the traffic, from the lifecycle hook's columns.
    const busiest = await page.evaluate(`(() => {
      const rows = [...document.querySelectorAll('#endpoints tr')].map((tr) => [...tr.children].map((td) => td.textContent));
      rows.sort((a, b) => Number(b[8]) - Number(a[8]));
      return rows[0];
    })()`) as string[];
    expect(Number(busiest[11])).toBeGreaterThan(0);
    expect(Number(busiest[12])).toBeGreaterThan(0);
    const picks = Number(await page.$eval('#tile-picks', (e) => e.textContent));
    expect(picks).toBeGreaterThan(0);
    expect(await page.$eval('#tile-sched', (e) => e.textContent)).toMatch(/^\d+\.\d{3} \/ \d+\.\d{3}$/);
    await page.waitForFunction(`document.querySelectorAll('#rejections tr td.mono').length > 0`, { timeout: 10_000 });
    expect(await page.$$eval('#rejections td.mono', (tds) => tds.map((t) => t.textContent))).toContain('SB_ERR_BAD_JSON');

    // Sampled decisions: one per scorer column, the picked candidate marked, no prompt text.
    await page.waitForFunction(`document.querySelectorAll('details.decision').length >= 3`, { timeout: 10_000 });
    const decision = await page.$eval('details.decision', (d) => ({
      headers: [...d.querySelectorAll('th')].map((th) => th.textContent ?? ''),
      picked: d.querySelectorAll('tr.picked').length,
      text: d.textContent ?? '',
    }));
    expect(decision.headers.some((h) => /^queue-scorer ×\d/.test(h))).toBe(true);
    expect(decision.picked).toBe(1);
    expect(decision.text).not.toContain('helpful assistant');
    expect(await page.$eval('#tile-prefix', (e) => e.textContent)).toMatch(/^\d+\.\d%$/);
    await screenshot(page, 'dashboard-live');

    // Values update: the first model server's KV-cache climbs, and the table and frames follow.
    const before = await frames(page);
    pods[0].page = vllmPage({ waiting: 7, running: 9, kv: 0.75, maxLora: 2, running_lora: 'sql-lora' });
    await page.waitForFunction(`document.querySelector('tr[data-endpoint="${keys[0]}"]').children[4].textContent === '75.0%'`, { timeout: 10_000 });
    expect(await frames(page)).toBeGreaterThan(before);

    // The third model server stops answering scrapes: after the staleness threshold it is shown stale.
    pods[2].behaviour = (_req, res) => res.destroy();
    await page.waitForFunction(`document.querySelector('tr[data-endpoint="${keys[2]}"]').getAttribute('data-status') === 'stale'`, { timeout: 10_000 });
    expect(await page.evaluate(`(() => { const e = document.getElementById('stale-banner'); return [getComputedStyle(e).display, e.textContent]; })()`)).toEqual([
      'block',
      '1 of 3 endpoints have stale metrics: the scheduler skips them while fresh ones exist.',
    ]);
    expect(await page.$eval('#tile-endpoints', (e) => e.textContent)).toBe('2 / 3');
    await screenshot(page, 'dashboard-stale');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('answers 401 to a wrong or missing token and takes the token as a Basic password from a browser prompt', async () => {
    const wrong = await open('Bearer not-the-token');
    expect(wrong.status).toBe(401);
    expect(await wrong.page.evaluate('document.body.textContent')).toBe('unauthorized: wrong bearer token\n');
    await wrong.page.close();

    const none = await fetch(`${base}/dashboard/events`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Basic realm="Switchboard dashboard"');

    // A real browser answers the Basic challenge with what the user typed; the token is the password.
    const page = await browser.newPage();
    await page.authenticate({ username: 'me', password: TOKEN });
    const ok = await page.goto(`${base}/dashboard`, { waitUntil: 'load' });
    expect(ok?.status()).toBe(200);
    await framesAtLeast(page, 1);
    await page.close();
    const badBasic = await fetch(`${base}/dashboard`, { headers: { authorization: `Basic ${Buffer.from(`me:wrong`).toString('base64')}` } });
    expect(badBasic.status).toBe(401);
    // /metrics keeps its bearer-only contract.
    const metricsBasic = await fetch(`${base}/metrics`, { headers: { authorization: `Basic ${Buffer.from(`me:${TOKEN}`).toString('base64')}` } });
    expect(metricsBasic.status).toBe(401);
  }, 30_000);
});

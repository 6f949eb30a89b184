/**
 * The HTML report fits the page from 1280 to 1920 px: charts in a responsive grid, wide tables
 * scrolling inside their own box, never the page. Checked in headless Chromium; screenshots go
 * to test/out/ (untracked) for a human look.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'puppeteer-core';
import { renderHtml } from '../../src/loadgen/html-report.js';
import type { RequestRecord } from '../../src/workload/metrics.js';
import { buildReport, buildRunReport } from '../../src/loadgen/report.js';
import { parseScenario } from '../../src/workload/scenario.js';
import { launchBrowser, openHtml, screenshot } from '../support/browser.js';

const scenario = parseScenario(`
name: layout-check
description: A report with many policies, four stages (one never run), LoRA slices and failures.
workload: { input: 100, output: 20, lora: { adapters: 3, baseFraction: 0.2 } }
arrivals:
  stages:
    - { name: warm-up, rate: 5, duration: 1, warmup: true }
    - { name: ramp, rate: 10, duration: 1 }
    - { name: peak, rate: 20, duration: 1 }
    - { name: cool-down, rate: 5, duration: 1 }
slo: { ttftMs: 200, tpotMs: 50 }
`);

/** Deterministic records: `n` per ran stage, some failed with a long server message. */
function records(policy: number): RequestRecord[] {
  const out: RequestRecord[] = [];
  for (let stage = 0; stage < 3; stage++) {
    for (let i = 0; i < 40; i++) {
      const start = stage * 1000 + i * 20;
      const ttft = 40 + ((i * 37 + policy * 11) % 300);
      const ok = i % 9 !== 0;
      out.push({
        id: `p${policy}-s${stage}-${i}`,
        stage,
        pod: i % 3,
        lora: i % 5 === 0 ? null : `adapter-${i % 3}`,
        tenant: null,
        session: -1,
        turn: -1,
        start,
        firstToken: start + ttft,
        lastToken: start + ttft + 19 * 30,
        end: start + ttft + 19 * 30,
        ok,
        error: ok ? null : 'http_404',
        detail: ok ? undefined : `The model \`adapter-${i % 3}-with-a-long-name-that-does-not-exist-anywhere-on-this-server\` does not exist.`,
        promptTokens: 100,
        outputTokens: ok ? 20 : 0,
        cachedTokens: 32,
        itl: Array.from({ length: 19 }, () => 30),
      });
    }
  }
  return out;
}

const policies = ['round-robin', 'least-request', 'go-epp', 'switchboard', 'switchboard-with-a-long-config-name', 'random'];
const report = buildReport(
  'bench',
  scenario,
  policies.flatMap((p, i) => [1, 2].map((seed) => buildRunReport(scenario, p, seed, records(i + seed), null, 3, 1234))),
  null,
  true,
  ['the target does not serve the scenario\'s 2 adapters "adapter-1", "adapter-2" (its /v1/models lists: meta-llama/Llama-3.1-8B-Instruct); requests for them will fail'],
);
const html = renderHtml(report);

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

interface Layout {
  innerWidth: number;
  pageScrollWidth: number;
  chartRows: number;
  chartsRight: number;
  box: { overflowX: string; scrollWidth: number; clientWidth: number; scrolledTo: number; right: number };
}

describe('report.html layout in headless Chromium', () => {
  for (const width of [1280, 1600, 1920]) {
    it(`fits ${width} px: no page-level horizontal scroll, charts in a grid, the wide table scrolls in its box`, async () => {
      const page = await openHtml(browser, html, width);
      try {
        await screenshot(page, `report-${width}`);
        // Runs in the page (a string: the project compiles without the DOM library).
        const layout = (await page.evaluate(`(() => {
          const charts = [...document.querySelectorAll('.charts svg')].map((e) => e.getBoundingClientRect());
          const box = document.querySelector('.table-box:has(table.summary)');
          box.scrollLeft = 200;
          return {
            innerWidth: window.innerWidth,
            pageScrollWidth: document.documentElement.scrollWidth,
            chartRows: new Set(charts.map((r) => Math.round(r.top))).size,
            chartsRight: Math.max(...charts.map((r) => r.right)),
            box: {
              overflowX: getComputedStyle(box).overflowX,
              scrollWidth: box.scrollWidth,
              clientWidth: box.clientWidth,
              scrolledTo: box.scrollLeft,
              right: box.getBoundingClientRect().right,
            },
          };
        })()`)) as Layout;
        expect(layout.innerWidth).toBe(width);
        expect(layout.pageScrollWidth).toBeLessThanOrEqual(layout.innerWidth);
        expect(layout.chartsRight).toBeLessThanOrEqual(width);
        // Five charts in a grid: two per row at 1280 (three rows), three per row at 1920.
        if (width === 1280) expect(layout.chartRows).toBe(3);
        if (width === 1920) expect(layout.chartRows).toBe(2);
        expect(layout.box.overflowX).toBe('auto');
        expect(layout.box.right).toBeLessThanOrEqual(width);
        if (width === 1280) {
          // The summary table is wider than the page here: its box scrolls, the page does not.
          expect(layout.box.scrollWidth).toBeGreaterThan(layout.box.clientWidth);
          expect(layout.box.scrolledTo).toBeGreaterThan(0);
        }
      } finally {
        await page.close();
      }
    }, 60_000);
  }
});

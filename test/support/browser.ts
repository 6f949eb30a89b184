/**
 * Headless Chromium for page-layout tests: launches Debian's `chromium` (or `CHROMIUM_PATH`)
 * through puppeteer-core, opens HTML at a given viewport width, and saves screenshots under the
 * untracked `test/out/`. No network: pages are loaded with `setContent`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** Where screenshots go (ignored by git). */
export const SCREENSHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'out');

/** The Chromium binary: `CHROMIUM_PATH`, else `/usr/bin/chromium` (Debian's package). */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}

/** Launches headless Chromium; throws a message saying how to install it when it is missing. */
export async function launchBrowser(): Promise<Browser> {
  const path = chromiumPath();
  if (!existsSync(path)) {
    throw new Error(`no Chromium at ${path}: install it (apt-get install -y --no-install-recommends chromium) or set CHROMIUM_PATH`);
  }
  return puppeteer.launch({
    executablePath: path,
    headless: true,
    // --no-sandbox: tests run as root in a container, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--font-render-hinting=none'],
  });
}

/** Opens `html` in a new page `width` × `height` px wide (CSS pixels). */
export async function openHtml(browser: Browser, html: string, width: number, height = 900): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width, height, deviceScaleFactor: 1 });
  // Pages under test are self-contained; any request out of the page is a test failure.
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    if (req.url().startsWith('data:') || req.url() === 'about:blank') void req.continue();
    else void req.abort();
  });
  await page.setContent(html, { waitUntil: 'load' });
  return page;
}

/** Saves a full-page screenshot as `test/out/<name>.png`; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

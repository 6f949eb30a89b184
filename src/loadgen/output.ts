/** Writes a report's files: `report.json` and the self-contained `report.html`. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHtml } from './html-report.js';
import type { Report } from './report.js';

/** Writes `report.json` and `report.html` under `dir` (created if needed); returns their paths. */
export function writeReport(dir: string, report: Report): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'report.json');
  const html = join(dir, 'report.html');
  writeFileSync(json, JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2));
  writeFileSync(html, renderHtml(report));
  return { json, html };
}

/**
 * The dashboard page: one HTML document with uPlot (from the `uplot` npm package, read from
 * node_modules once) and the client script inlined, so it loads with no second request and no
 * CDN. Served with a Content-Security-Policy that allows exactly these inline scripts (by hash)
 * and connections back to this origin only.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CLIENT_SCRIPT } from './client-script.js';

const STYLE = `
:root { --fg: #1d2733; --muted: #6b7785; --line: #e3e7ec; --bg: #f6f8fa; --card: #fff; --bad: #c0392b; --ok: #1e8e4e; --warn: #b9770e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 16px; padding: 12px 20px; background: #15202b; color: #fff; }
header h1 { font-size: 18px; margin: 0; font-weight: 600; }
header .sub { color: #aab6c3; }
.status { margin-left: auto; padding: 2px 10px; border-radius: 10px; font-size: 12px; }
.status.live { background: var(--ok); } .status.down { background: var(--bad); } .status.wait { background: #555; }
main { padding: 16px 20px; max-width: 1800px; margin: 0 auto; }
section { margin-bottom: 20px; }
h2 { font-size: 15px; margin: 0 0 8px; }
h3 { font-size: 13px; margin: 0 0 4px; font-weight: 600; color: #333; }
.tabs { display: none; gap: 6px; margin-bottom: 12px; }
.tab { border: 1px solid var(--line); background: var(--card); padding: 4px 12px; border-radius: 4px; cursor: pointer; }
.tab.active { background: #15202b; color: #fff; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; }
.tile, .card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.tile-value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile-label { color: var(--muted); font-size: 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 10px; }
.chart { min-width: 0; overflow: hidden; }
.banner { display: none; background: #fdecea; color: var(--bad); border: 1px solid #f5c6cb; border-radius: 6px; padding: 8px 12px; margin-bottom: 10px; }
.table-box { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-weight: 600; font-size: 12px; color: var(--muted); background: #fafbfc; }
tr.stale td { color: var(--bad); background: #fff5f5; }
tr.picked td { font-weight: 600; background: #eef6ff; }
tr.filtered td { color: var(--muted); }
.badge { padding: 1px 8px; border-radius: 8px; font-size: 12px; color: #fff; }
.badge.fresh { background: var(--ok); } .badge.stale { background: var(--bad); } .badge.scrape-failing { background: var(--warn); }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.muted { color: var(--muted); }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
@media (max-width: 900px) { .two { grid-template-columns: 1fr; } .charts { grid-template-columns: 1fr; } }
details.decision { background: var(--card); border: 1px solid var(--line); border-radius: 6px; margin-bottom: 6px; padding: 6px 10px; }
details.decision summary { cursor: pointer; }
details.decision table { margin-top: 6px; }
.u-legend { font-size: 11px; }
`;

const BODY = `
<header><h1>Switchboard</h1><span class="sub" id="pool-name">connecting…</span><span class="sub" id="updated"></span><span class="status wait" id="status">connecting…</span></header>
<main>
  <nav class="tabs" id="pools"></nav>
  <section><div class="tiles" id="summary"></div></section>
  <section><h2>Endpoints</h2><div class="banner" id="stale-banner"></div>
    <div class="table-box"><table><thead><tr id="endpoints-head"></tr></thead><tbody id="endpoints"></tbody></table></div></section>
  <section><div class="charts" id="charts"></div></section>
  <section class="two">
    <div><h2>Flow-control queues by band and flow</h2><div class="table-box"><table><thead><tr><th>priority band</th><th>flow</th><th>requests</th><th>bytes</th></tr></thead><tbody id="queues"></tbody></table></div></div>
    <div><h2>Refused and failed requests by reason</h2><div class="table-box"><table><thead><tr><th>code</th><th>since start</th><th>per second</th></tr></thead><tbody id="rejections"></tbody></table></div></div>
  </section>
  <section><h2>Last decisions (sampled while this page is open; no request content)</h2><div id="decisions"></div></section>
</main>
`;

/** The page and the headers it is served with. */
export interface DashboardPage {
  body: Buffer;
  headers: Record<string, string>;
}

let cached: DashboardPage | null = null;

/** The page, built on first use. */
export function dashboardPage(): DashboardPage {
  if (cached !== null) return cached;
  const require = createRequire(import.meta.url);
  const uplotJs = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
  const uplotCss = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  const scripts = [uplotJs, CLIENT_SCRIPT].map((s) => s.replaceAll('</script', '<\\/script'));
  const hashes = scripts.map((s) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`);
  const html =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<title>Switchboard dashboard</title>' +
    `<style>${uplotCss}${STYLE}</style></head><body>${BODY}` +
    scripts.map((s) => `<script>${s}</script>`).join('') +
    '</body></html>';
  cached = {
    body: Buffer.from(html),
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'content-security-policy': `default-src 'none'; script-src ${hashes.join(' ')}; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
    },
  };
  return cached;
}

/**
 * Minimal inline-SVG charts (grouped bars, lines) for the self-contained HTML report: no
 * scripts, no external assets, readable when printed.
 */

/** One named series of values, aligned with the chart's categories. */
export interface Series {
  name: string;
  values: number[];
}

/** A chart description. */
export interface ChartSpec {
  title: string;
  categories: string[];
  series: Series[];
  unit: string;
  /** Logarithmic y axis (for latencies spanning orders of magnitude). */
  log?: boolean;
}

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const W = 680;
const H = 300;
const M = { top: 34, right: 16, bottom: 58, left: 64 };

/** Colour of series `i`. */
export function color(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** Escapes text for SVG/HTML. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function label(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  if (a >= 10 || v === 0) return `${Math.round(v)}`;
  return `${+v.toFixed(2)}`;
}

interface Scale {
  y(v: number): number;
  ticks: number[];
}

function scale(spec: ChartSpec): Scale {
  const vals = spec.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && (!spec.log || v > 0));
  const plotH = H - M.top - M.bottom;
  if (spec.log) {
    const lo = Math.pow(10, Math.floor(Math.log10(vals.length > 0 ? Math.min(...vals) : 1)));
    const hi = Math.pow(10, Math.ceil(Math.log10(vals.length > 0 ? Math.max(...vals) : 10)));
    const top = hi > lo ? hi : lo * 10;
    const ticks: number[] = [];
    for (let t = lo; t <= top * 1.0001; t *= 10) ticks.push(t);
    const y = (v: number): number => M.top + plotH * (1 - (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(top) - Math.log10(lo)));
    return { y, ticks };
  }
  const max = vals.length > 0 ? Math.max(...vals) : 1;
  const step = niceStep((max > 0 ? max : 1) / 5);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const ticks: number[] = [];
  for (let t = 0; t <= top + step / 2; t += step) ticks.push(t);
  return { y: (v: number) => M.top + plotH * (1 - v / top), ticks };
}

function niceStep(raw: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/** `text` cut with an ellipsis to about `px` wide at 11 px (≈ 6.2 px a character); the full text in a tooltip. */
function fitted(text: string, px: number): string {
  const max = Math.max(3, Math.floor(px / 6.2));
  if (text.length <= max) return esc(text);
  return `${esc(text.slice(0, max - 1))}…<title>${esc(text)}</title>`;
}

function frame(spec: ChartSpec, s: Scale, body: string): string {
  const axis = s.ticks
    .map((t) => {
      const y = s.y(t).toFixed(1);
      return `<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#e4e4e4"/><text x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11" fill="#555">${label(t)}</text>`;
    })
    .join('');
  // Legend entries share the width; long series names are cut so they never overlap.
  const step = Math.min(130, (W - M.left - 8) / Math.max(1, spec.series.length));
  const legend = spec.series
    .map((se, i) => {
      const x = M.left + i * step;
      return `<rect x="${x.toFixed(1)}" y="${H - 18}" width="10" height="10" fill="${color(i)}"/><text x="${(x + 14).toFixed(1)}" y="${H - 9}" font-size="11" fill="#333">${fitted(se.name, step - 20)}</text>`;
    })
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(spec.title)}">` +
    `<text x="${M.left}" y="18" font-size="14" font-weight="600" fill="#222">${esc(spec.title)}</text>` +
    `<text x="14" y="${M.top + (H - M.top - M.bottom) / 2}" font-size="11" fill="#555" transform="rotate(-90 14 ${M.top + (H - M.top - M.bottom) / 2})" text-anchor="middle">${esc(spec.unit)}${spec.log ? ' (log)' : ''}</text>` +
    axis +
    body +
    legend +
    '</svg>'
  );
}

function categoryLabels(spec: ChartSpec, cx: (i: number) => number): string {
  const slot = (W - M.left - M.right) / Math.max(1, spec.categories.length);
  return spec.categories
    .map((c, i) => `<text x="${cx(i).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11" fill="#333">${fitted(c, slot - 6)}</text>`)
    .join('');
}

/** Grouped bar chart: one group per category, one bar per series. */
export function barChart(spec: ChartSpec): string {
  const s = scale(spec);
  const plotW = W - M.left - M.right;
  const groupW = plotW / Math.max(1, spec.categories.length);
  const barW = (groupW * 0.8) / Math.max(1, spec.series.length);
  const base = s.y(spec.log ? (s.ticks[0] ?? 1) : 0);
  let bars = '';
  spec.series.forEach((se, si) => {
    se.values.forEach((v, ci) => {
      if (!Number.isFinite(v)) return;
      const x = M.left + ci * groupW + groupW * 0.1 + si * barW;
      const y = s.y(v);
      bars += `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${Math.max(0, base - y).toFixed(1)}" fill="${color(si)}"><title>${esc(`${spec.categories[ci]} ${se.name}: ${label(v)} ${spec.unit}`)}</title></rect>`;
    });
  });
  return frame(spec, s, bars + categoryLabels(spec, (i) => M.left + i * groupW + groupW / 2));
}

/** Line chart: categories along x, one line per series. */
export function lineChart(spec: ChartSpec): string {
  const s = scale(spec);
  const plotW = W - M.left - M.right;
  const n = spec.categories.length;
  const cx = (i: number): number => M.left + (n <= 1 ? plotW / 2 : (plotW * (i + 0.5)) / n);
  let lines = '';
  spec.series.forEach((se, si) => {
    const pts = se.values.map((v, i) => (Number.isFinite(v) && (!spec.log || v > 0) ? `${cx(i).toFixed(1)},${s.y(v).toFixed(1)}` : null));
    const path = pts.filter((p) => p !== null).join(' ');
    lines += `<polyline points="${path}" fill="none" stroke="${color(si)}" stroke-width="2"/>`;
    pts.forEach((p, i) => {
      if (p === null) return;
      const [x, y] = p.split(',');
      lines += `<circle cx="${x}" cy="${y}" r="3" fill="${color(si)}"><title>${esc(`${spec.categories[i]} ${se.name}: ${label(se.values[i])} ${spec.unit}`)}</title></circle>`;
    });
  });
  return frame(spec, s, lines + categoryLabels(spec, cx));
}

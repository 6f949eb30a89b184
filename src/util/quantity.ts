/** Kubernetes quantities (`1Gi`, `500M`, `512Mi`) for byte limits in configs and parameters. */

const QUANTITY_SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};

/** A non-negative Kubernetes quantity as a whole number; null when malformed. */
export function parseQuantity(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.floor(v) : null;
  if (typeof v !== 'string') return null;
  const m = /^\s*(\d+(?:\.\d+)?)(?:e(\d+))?([kMGTP]i?|Ki)?\s*$/.exec(v);
  if (m === null) return null;
  const suffix = m[3] ?? '';
  const mult = QUANTITY_SUFFIX[suffix];
  if (mult === undefined) return null;
  const n = Number(m[1]) * 10 ** Number(m[2] ?? 0) * mult;
  return Number.isFinite(n) ? Math.floor(n) : null;
}

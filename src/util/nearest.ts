/**
 * "Did you mean …?" for names a user typed: the closest candidate by edit distance, when it is
 * close enough to be a plausible typo (a third of the longer name, at least 2 edits).
 */

/** Levenshtein distance between `a` and `b` (case-insensitive), stopping early past `cap`. */
export function editDistance(a: string, b: string, cap = Infinity): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  if (a === b) return 0;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (cur[j] < rowMin) rowMin = cur[j];
    }
    if (rowMin > cap) return rowMin;
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/** The candidate nearest to `name`, or null when none is a plausible typo of it. */
export function nearestName(name: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const limit = Math.max(2, Math.floor(Math.max(name.length, c.length) / 3));
    const d = editDistance(name, c, limit);
    // A candidate that contains the name (or the reverse) is also a likely intent: `queue` → `queue-scorer`.
    const contains = name.length >= 4 && (c.toLowerCase().includes(name.toLowerCase()) || name.toLowerCase().includes(c.toLowerCase()));
    const score = d <= limit ? d : contains ? limit + 0.5 : Infinity;
    if (score < bestD) {
      bestD = score;
      best = c;
    }
  }
  return best;
}

/** ` (did you mean "x"?)`, or '' when nothing is close. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const n = nearestName(name, candidates);
  return n === null ? '' : ` (did you mean "${n}"?)`;
}

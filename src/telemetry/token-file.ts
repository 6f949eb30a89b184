/**
 * A bearer token kept in a file (a mounted Kubernetes Secret), re-read when the file changes so
 * a rotated token takes effect without a restart.
 */
import { readFileSync, statSync } from 'node:fs';
import { sbError } from '../errors.js';

/** How often the file's modification time is checked, ms. */
const RECHECK_MS = 5000;

/**
 * Reads the token now (throws SB_ERR_FLAG naming `flag` when the file is missing or empty) and
 * returns a function giving the current token. A file that later turns unreadable or empty keeps
 * the last good token.
 */
export function tokenFromFile(path: string, flag: string, now: () => number = Date.now): () => string {
  const read = (): string => readFileSync(path, 'utf8').trim();
  let token: string;
  let mtime: number;
  try {
    token = read();
    mtime = statSync(path).mtimeMs;
  } catch (err) {
    throw sbError('SB_ERR_FLAG', flag, `cannot read ${path}: ${(err as Error).message}`);
  }
  if (token === '') throw sbError('SB_ERR_FLAG', flag, `${path} is empty`);
  let checkedAt = now();
  return () => {
    const t = now();
    if (t - checkedAt < RECHECK_MS) return token;
    checkedAt = t;
    try {
      const m = statSync(path).mtimeMs;
      if (m !== mtime) {
        const next = read();
        mtime = m;
        if (next !== '') token = next;
      }
    } catch {
      // Keep serving with the last good token while the file is being replaced.
    }
    return token;
  };
}

/**
 * Sends POST /v1/completions at a fixed rate: `node rate-client.js <url> <req/s> <seconds>` prints
 * one JSON line `{sent, ok, errors}` once every answer is in. A fixed rate keeps the proxy under
 * test in the same batching regime whichever build it is (a closed loop at 64 connections lets a
 * faster proxy take bigger batches, which changes its CPU per request for reasons of its own).
 */
import { Pool } from 'undici';

const [url, rateText, secondsText] = process.argv.slice(2);
const rate = Number(rateText);
const seconds = Number(secondsText);
const target = new URL(url);
const pool = new Pool(target.origin, { connections: 64, pipelining: 1 });
const body = JSON.stringify({ model: 'bench-model', prompt: 'Say hello to the benchmark', max_tokens: 16 });
const headers = { 'content-type': 'application/json' };
let sent = 0;
let ok = 0;
let errors = 0;
let inflight = 0;
const start = performance.now();

function one(): void {
  sent++;
  inflight++;
  pool
    .request({ method: 'POST', path: target.pathname, headers, body })
    .then(async (r) => {
      await r.body.dump();
      if (r.statusCode === 200) ok++;
      else errors++;
    })
    .catch(() => errors++)
    .finally(() => inflight--);
}

await new Promise<void>((resolve) => {
  const tick = (): void => {
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed >= seconds) return resolve();
    const due = Math.floor(elapsed * rate);
    while (sent < due) one();
    setTimeout(tick, 2);
  };
  tick();
});
// Bounded: answers are waited for at most 10 s after the last send.
const deadline = performance.now() + 10_000;
while (inflight > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
process.stdout.write(`${JSON.stringify({ sent, ok, errors: errors + inflight })}\n`);
await pool.destroy();

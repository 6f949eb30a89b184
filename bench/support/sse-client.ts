/**
 * Measures streamed completions one after another over a keep-alive connection: for each, the
 * time from sending the request to the first body chunk and to the end of the stream.
 *
 * Runs as its own process so its work does not share an event loop with the proxy:
 * `node sse-client.js <url> <count>` prints one JSON line `{ttfc: number[], ttlc: number[]}` (ms).
 */
import { Client, type Dispatcher } from 'undici';

const [url, countText] = process.argv.slice(2);
const count = Number(countText);
const client = new Client(url, { pipelining: 1, keepAliveTimeout: 60_000 });
const body = JSON.stringify({ model: 'bench-model', prompt: 'stream please', max_tokens: 100, stream: true });

function one(): Promise<[number, number]> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let first = -1;
    const handler: Dispatcher.DispatchHandler = {
      onConnect() {},
      onHeaders() {
        return true;
      },
      onData() {
        if (first < 0) first = performance.now() - start;
        return true;
      },
      onComplete() {
        resolve([first, performance.now() - start]);
      },
      onError: reject,
    };
    client.dispatch({ method: 'POST', path: '/v1/completions', headers: ['content-type', 'application/json'], body }, handler);
  });
}

const ttfc: number[] = [];
const ttlc: number[] = [];
await one(); // warm the connection
for (let i = 0; i < count; i++) {
  const [f, l] = await one();
  ttfc.push(f);
  ttlc.push(l);
}
process.stdout.write(`${JSON.stringify({ ttfc, ttlc })}\n`);
await client.close();

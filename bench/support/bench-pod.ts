/**
 * The benchmark's model server: as fast and small as a Node HTTP server gets, so the numbers
 * show the proxy's cost. Non-streamed completions get a fixed ~400-byte JSON; streamed ones get
 * `SSE_CHUNKS` events, one per millisecond timer tick, then the usage chunk and `[DONE]`.
 *
 * Runs as its own process: `node bench-pod.js` prints `port=<n>` when it listens.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export const SSE_CHUNKS = 100;

const completion = Buffer.from(
  JSON.stringify({
    id: 'cmpl-bench',
    object: 'text_completion',
    created: 1,
    model: 'bench-model',
    choices: [{ index: 0, text: ' the quick brown fox jumps over the lazy dog', logprobs: null, finish_reason: 'length', stop_reason: null }],
    usage: { prompt_tokens: 12, total_tokens: 28, completion_tokens: 16 },
  }),
);
const chunk = Buffer.from(
  `data: ${JSON.stringify({ id: 'cmpl-bench', object: 'text_completion', created: 1, model: 'bench-model', choices: [{ index: 0, text: ' tok', logprobs: null, finish_reason: null }] })}\n\n`,
);
const tail = Buffer.from(
  `data: ${JSON.stringify({ id: 'cmpl-bench', object: 'text_completion', created: 1, model: 'bench-model', choices: [], usage: { prompt_tokens: 12, total_tokens: 112, completion_tokens: 100 } })}\n\ndata: [DONE]\n\n`,
);
const models = Buffer.from(
  JSON.stringify({ object: 'list', data: [{ id: 'bench-model', object: 'model', created: 1, owned_by: 'vllm', root: 'bench-model', parent: null, max_model_len: 4096, permission: [] }] }),
);
const metrics = Buffer.from(
  'vllm:num_requests_running{model_name="bench-model"} 0\nvllm:num_requests_waiting{model_name="bench-model"} 0\nvllm:kv_cache_usage_perc{model_name="bench-model"} 0.1\n',
);

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    const body = req.url === '/metrics' ? metrics : models;
    res.writeHead(200, { 'content-type': req.url === '/metrics' ? 'text/plain' : 'application/json', 'content-length': body.length });
    res.end(body);
    return;
  }
  let streamed = false;
  req.on('data', (c: Buffer) => {
    // The bench client sends `"stream":true` only for SSE runs; a substring test is enough here.
    if (!streamed && c.includes('"stream":true')) streamed = true;
  });
  req.on('end', () => {
    if (!streamed) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': completion.length });
      res.end(completion);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let i = 0;
    const next = () => {
      if (res.destroyed) return;
      if (i++ < SSE_CHUNKS) {
        res.write(chunk);
        setTimeout(next, 1);
      } else res.end(tail);
    };
    next();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`port=${(server.address() as AddressInfo).port}\n`);
});

// Exit normally on SIGTERM so --cpu-prof and other exit hooks run.
process.on('SIGTERM', () => process.exit(0));

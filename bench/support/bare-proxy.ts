/**
 * The floor for any Node proxy: fastify + undici with nothing else. The body is read as a
 * buffer and forwarded, the answer streamed back through a raw dispatch handler. No scheduling,
 * no parsing, no header filtering beyond hop-by-hop, no accounting.
 *
 * Runs as its own process: `node bare-proxy.js <podPort>` prints `port=<n>` when it listens.
 */
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { Pool, type Dispatcher } from 'undici';

const podPort = Number(process.argv[2]);
const upstream = new Pool(`http://127.0.0.1:${podPort}`, { connections: 1024, pipelining: 1, keepAliveTimeout: 60_000 });

class BareHandler implements Dispatcher.DispatchHandler {
  constructor(private readonly res: ServerResponse) {}
  onConnect(): void {}
  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    const headers: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toString('latin1').toLowerCase();
      if (name !== 'connection' && name !== 'keep-alive' && name !== 'transfer-encoding') headers.push(name, raw[i + 1].toString('latin1'));
    }
    this.res.writeHead(status, headers);
    this.res.on('drain', resume);
    return true;
  }
  onData(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }
  onComplete(): void {
    this.res.end();
  }
  onError(): void {
    if (!this.res.headersSent) this.res.writeHead(502);
    this.res.end();
  }
}

const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.post('/v1/completions', (req, reply) => {
  reply.hijack();
  const h = req.headers;
  upstream.dispatch(
    { method: 'POST', path: req.url, headers: ['content-type', String(h['content-type'])], body: req.body as Buffer },
    new BareHandler(reply.raw),
  );
});
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`port=${(app.server.address() as AddressInfo).port}\n`);

// Exit normally on SIGTERM so --cpu-prof and other exit hooks run.
process.on('SIGTERM', () => process.exit(0));

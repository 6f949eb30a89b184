/**
 * Why deploy/envoy/envoy.yaml sets `alpn_protocols: [h2]` on the picker cluster: Switchboard's
 * TLS ext_proc port (a real `serve` process) answers a TLS client that offers no ALPN with an
 * HTTP/1.0 403 and closes, so Envoy's gRPC health check (its own connections, same transport
 * socket) would mark the picker unhealthy; offering h2 gets HTTP/2 SETTINGS back.
 */
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDocs } from '../support/deploy.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';

let serve: ServeProcess;
beforeAll(async () => {
  // TLS on the ext_proc port is serve's default (a self-signed certificate).
  serve = await startServeProcess(['--endpoints=127.0.0.1:1']);
}, 60_000);
afterAll(() => serve.kill());

/** Opens a TLS connection offering `alpn`, sends the HTTP/2 preface, returns what came back before close (or the first bytes). */
function exchange(alpn: string[] | undefined): Promise<{ negotiated: string | false; reply: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: serve.grpcPort, rejectUnauthorized: false, ...(alpn ? { ALPNProtocols: alpn } : {}) }, () => {
      socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])); // empty SETTINGS
    });
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      // An HTTP/2 server's first frame is SETTINGS (type 4): enough to know the session started.
      if (alpn !== undefined && Buffer.concat(chunks).length >= 9) {
        resolve({ negotiated: socket.alpnProtocol ?? false, reply: Buffer.concat(chunks), closed: false });
        socket.destroy();
      }
    });
    socket.on('close', () => resolve({ negotiated: socket.alpnProtocol ?? false, reply: Buffer.concat(chunks), closed: true }));
    socket.on('error', reject);
  });
}

describe('ALPN on the picker`s TLS port', () => {
  it('without ALPN the connection is refused; with h2 the HTTP/2 session starts; envoy.yaml offers h2', async () => {
    const none = await exchange(undefined);
    expect(none.negotiated).toBe(false);
    expect(none.closed).toBe(true);
    expect(none.reply.toString('latin1')).toMatch(/^HTTP\/1\.[01] 403/);

    const h2 = await exchange(['h2']);
    expect(h2.negotiated).toBe('h2');
    expect(h2.reply[3]).toBe(4);

    const cluster = ((readDocs('envoy/envoy.yaml')[0].obj.static_resources as { clusters: Array<Record<string, unknown>> }).clusters).find((c) => c.name === 'switchboard')!;
    expect(JSON.stringify(cluster.transport_socket)).toContain('"alpn_protocols":["h2"]');
    expect(cluster.health_checks).toBeDefined();
  }, 30_000);
});

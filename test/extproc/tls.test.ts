/** --secure-serving: self-signed by default, a --cert-path pair reloaded on change, plaintext only when asked. */
import { credentials } from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startExtProcServer, type ExtProcServer } from '../../src/frontends/extproc/server.js';
import { createSelfSignedCertificate } from '../../src/frontends/grpc/self-signed.js';
import { EnvoyExtProcClient } from '../support/envoy-client.js';
import { eventually } from '../support/extproc-harness.js';
import { routeAll } from '../support/scripted-director.js';

let server: ExtProcServer | null = null;
let client: EnvoyExtProcClient | null = null;
let dir: string | null = null;
afterEach(async () => {
  client?.close();
  client = null;
  await server?.close();
  server = null;
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

const ready = { ready: () => true };
const BODY = '{"model":"m","prompt":"hi"}';
/** Verify the certificate by its DNS name (SNI may not carry an IP address). */
const NAME = { 'grpc.ssl_target_name_override': 'localhost' };

/** Common name of the certificate the server presents to a new TLS connection. */
function servedCommonName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.destroy();
      resolve(String(cn));
    });
    socket.on('error', reject);
  });
}

function writePair(folder: string, cn: string): void {
  const pair = createSelfSignedCertificate({ commonName: cn });
  writeFileSync(join(folder, 'tls.crt'), pair.cert);
  writeFileSync(join(folder, 'tls.key'), pair.key);
}

describe('self-signed certificates', () => {
  it('always carry a positive, minimally encoded 16-byte serial that strict DER parsers accept', () => {
    // A random serial starting 0x00 0x0X is non-minimal DER: Node 24 refused ~1 certificate in 256.
    for (let i = 0; i < 600; i++) {
      const pair = createSelfSignedCertificate({ commonName: `c${i}` });
      const cert = new X509Certificate(pair.cert);
      expect(cert.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/i);
      expect(cert.subject).toBe(`CN=c${i}`);
    }
  });
});

describe('TLS serving', () => {
  it('serves TLS with a fresh self-signed certificate by default', async () => {
    server = await startExtProcServer({ director: routeAll('10.0.0.1:8000'), readiness: ready, host: '127.0.0.1', port: 0, healthPort: 0 });
    const pem = server.certificatePem()!;
    const cert = new X509Certificate(pem);
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(Date.now() + 365 * 86_400_000);
    client = new EnvoyExtProcClient({ address: `127.0.0.1:${server.port}`, credentials: credentials.createSsl(Buffer.from(pem)), channelOptions: NAME });
    expect((await client.request({ body: BODY })).kind).toBe('upstream');

    // A plaintext client cannot talk to it: Envoy would answer 500 (gRPC UNAVAILABLE).
    const plain = new EnvoyExtProcClient({ address: `127.0.0.1:${server.port}`, waitLimitMs: 5000 });
    expect(await plain.request({ body: BODY })).toMatchObject({ kind: 'local-reply', status: 500, grpcCode: 14 });
    plain.close();
  });

  it('serves plaintext only when asked', async () => {
    server = await startExtProcServer({ director: routeAll('10.0.0.1:8000'), readiness: ready, host: '127.0.0.1', port: 0, healthPort: 0, secure: false });
    expect(server.certificatePem()).toBeNull();
    client = new EnvoyExtProcClient({ address: `127.0.0.1:${server.port}` });
    expect((await client.request({ body: BODY })).kind).toBe('upstream');
  });

  it('serves the --cert-path pair and reloads it when the files change, ignoring a broken pair', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-cert-'));
    writePair(dir, 'first');
    server = await startExtProcServer({
      director: routeAll('10.0.0.1:8000'),
      readiness: ready,
      host: '127.0.0.1',
      port: 0,
      healthPort: 0,
      certPath: dir,
      certReloadIntervalMs: 25,
    });
    expect(await servedCommonName(server.port)).toBe('first');

    // Mid-rotation: a certificate whose key does not match must not replace the good pair.
    writeFileSync(join(dir, 'tls.crt'), createSelfSignedCertificate({ commonName: 'broken' }).cert);
    await new Promise((r) => setTimeout(r, 100));
    expect(await servedCommonName(server.port)).toBe('first');

    writePair(dir, 'second');
    await eventually(async () => (await servedCommonName(server!.port)) === 'second');
    client = new EnvoyExtProcClient({
      address: `127.0.0.1:${server.port}`,
      credentials: credentials.createSsl(Buffer.from(server.certificatePem()!)),
      channelOptions: NAME,
    });
    expect((await client.request({ body: BODY })).kind).toBe('upstream');
  });

  it('refuses to start with a key that does not match the certificate', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-cert-'));
    writeFileSync(join(dir, 'tls.crt'), createSelfSignedCertificate().cert);
    writeFileSync(join(dir, 'tls.key'), createSelfSignedCertificate().key);
    await expect(
      startExtProcServer({ director: routeAll('10.0.0.1:8000'), readiness: ready, host: '127.0.0.1', port: 0, healthPort: 0, certPath: dir }),
    ).rejects.toThrow(/does not match/);
  });
});

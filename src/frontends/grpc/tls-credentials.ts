/**
 * Server credentials for `--secure-serving`: a key pair read from `--cert-path` (`tls.crt` and
 * `tls.key`, as the Go EPP and Kubernetes TLS secrets name them) and reloaded when the files
 * change, or a self-signed pair made at start; plaintext only when asked.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ServerCredentials } from '@grpc/grpc-js';
import type { SecureContextOptions } from 'node:tls';
import { createSelfSignedCertificate, type KeyPairPem } from './self-signed.js';

/** File names inside `--cert-path`. */
export const CERT_FILE = 'tls.crt';
export const KEY_FILE = 'tls.key';

/** Throws unless `cert` parses and `key` is its private key (a half-rotated pair must not be served). */
export function checkKeyPair(pair: KeyPairPem): void {
  const cert = new X509Certificate(pair.cert);
  if (!cert.checkPrivateKey(createPrivateKey(pair.key))) throw new Error('tls.key does not match tls.crt');
}

/**
 * Credentials whose key pair can be swapped at run time: grpc-js watches them and calls
 * `setSecureContext` on its TLS server, so new connections get the new certificate.
 */
export class ReloadableServerCredentials extends ServerCredentials {
  private current: KeyPairPem;

  constructor(pair: KeyPairPem) {
    super({}, { cert: pair.cert, key: pair.key });
    this.current = pair;
  }

  /** The pair being served. */
  get keyPair(): KeyPairPem {
    return this.current;
  }

  /** Serves `pair` from now on (after checking it). */
  replace(pair: KeyPairPem): void {
    checkKeyPair(pair);
    this.current = pair;
    const options: SecureContextOptions = { cert: pair.cert, key: pair.key };
    this.updateSecureContextOptions(options);
  }

  override _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

/** Polls a `--cert-path` folder and swaps the credentials' pair when the files change. */
export class CertificateReloader {
  private timer: NodeJS.Timeout | null = null;
  private lastText: string;
  private reading = false;

  constructor(
    private readonly dir: string,
    private readonly credentials: ReloadableServerCredentials,
    private readonly onEvent: (event: 'reloaded' | 'invalid', error?: unknown) => void = () => {},
  ) {
    this.lastText = credentials.keyPair.cert + credentials.keyPair.key;
  }

  /** Starts polling every `intervalMs` (the timer does not keep the process alive). */
  start(intervalMs: number): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  /** Reads the files once and swaps them in if they changed and form a valid pair. */
  async check(): Promise<boolean> {
    if (this.reading) return false;
    this.reading = true;
    try {
      const [cert, key] = await Promise.all([
        readFile(join(this.dir, CERT_FILE), 'utf8'),
        readFile(join(this.dir, KEY_FILE), 'utf8'),
      ]);
      if (cert + key === this.lastText) return false;
      this.credentials.replace({ cert, key });
      this.lastText = cert + key;
      this.onEvent('reloaded');
      return true;
    } catch (err) {
      // Mid-rotation or broken files: keep serving the previous pair and try again next tick.
      this.onEvent('invalid', err);
      return false;
    } finally {
      this.reading = false;
    }
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

export interface ServingCredentials {
  credentials: ServerCredentials;
  /** The swappable TLS credentials (null for plaintext); `.keyPair` is the pair being served. */
  tls: ReloadableServerCredentials | null;
  /** Reloader for `--cert-path` (null otherwise). */
  reloader: CertificateReloader | null;
}

/** Builds the credentials for `--secure-serving` / `--cert-path`; throws if the given pair is unusable. */
export function servingCredentials(options: {
  secure: boolean;
  certPath: string | null;
  onReload?: (event: 'reloaded' | 'invalid', error?: unknown) => void;
}): ServingCredentials {
  if (!options.secure) return { credentials: ServerCredentials.createInsecure(), tls: null, reloader: null };
  if (options.certPath === null || options.certPath === '') {
    const tls = new ReloadableServerCredentials(createSelfSignedCertificate());
    return { credentials: tls, tls, reloader: null };
  }
  const pair: KeyPairPem = {
    cert: readFileSync(join(options.certPath, CERT_FILE), 'utf8'),
    key: readFileSync(join(options.certPath, KEY_FILE), 'utf8'),
  };
  checkKeyPair(pair);
  const tls = new ReloadableServerCredentials(pair);
  return { credentials: tls, tls, reloader: new CertificateReloader(options.certPath, tls, options.onReload) };
}

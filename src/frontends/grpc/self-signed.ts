/**
 * A self-signed serving certificate, made at start-up when `--secure-serving` is on and no
 * `--cert-path` is given (as the Go EPP does). ECDSA P-256: quick to make, and Envoy's EPP
 * cluster does not verify it unless told to. Node can sign but has no X.509 builder, so the
 * DER structure comes from @peculiar/asn1-x509.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as x509 from '@peculiar/asn1-x509';

/** PEM certificate and PKCS#8 private key. */
export interface KeyPairPem {
  cert: string;
  key: string;
}

export interface SelfSignedOptions {
  /** Subject common name (default "switchboard"). */
  commonName?: string;
  /** DNS names and IP addresses for the subjectAltName (default localhost, 127.0.0.1, ::1). */
  altNames?: readonly string[];
  /** Validity in days (default 3650, like the Go EPP's ten years). */
  days?: number;
  /** Clock for notBefore, in ms (default Date.now()). */
  now?: number;
}

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Makes a fresh key pair and a self-signed leaf certificate for it. */
export function createSelfSignedCertificate(options: SelfSignedOptions = {}): KeyPairPem {
  const now = options.now ?? Date.now();
  const days = options.days ?? 3650;
  const altNames = options.altNames ?? ['localhost', '127.0.0.1', '::1'];
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

  const name = new x509.Name([
    new x509.RelativeDistinguishedName([
      new x509.AttributeTypeAndValue({
        type: COMMON_NAME,
        value: new x509.AttributeValue({ utf8String: options.commonName ?? 'switchboard' }),
      }),
    ]),
  ]);
  const serial = randomBytes(16);
  // Positive and minimally encoded: a leading 0x00 byte before one below 0x80 is non-minimal DER,
  // which stricter parsers (Node 24's OpenSSL) reject as "illegal padding" (1 certificate in 256).
  serial[0] = (serial[0] & 0x3f) | 0x40;
  const san = new x509.SubjectAlternativeName(
    altNames.map((n) => new x509.GeneralName(isIP(n) !== 0 ? { iPAddress: n } : { dNSName: n })),
  );
  const algorithm = new x509.AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 });
  const tbs = new x509.TBSCertificate({
    version: x509.Version.v3,
    serialNumber: toArrayBuffer(serial),
    signature: algorithm,
    issuer: name,
    // A minute of slack for peers whose clock runs slightly behind.
    validity: new x509.Validity({ notBefore: new Date(now - 60_000), notAfter: new Date(now + days * 86_400_000) }),
    subject: name,
    subjectPublicKeyInfo: AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), x509.SubjectPublicKeyInfo),
    extensions: new x509.Extensions([
      new x509.Extension({
        extnID: x509.id_ce_basicConstraints,
        critical: true,
        extnValue: new OctetString(AsnConvert.serialize(new x509.BasicConstraints({ cA: false }))),
      }),
      new x509.Extension({
        extnID: x509.id_ce_subjectAltName,
        critical: false,
        extnValue: new OctetString(AsnConvert.serialize(san)),
      }),
    ]),
  });
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(tbs)), { key: privateKey, dsaEncoding: 'der' });
  const cert = new x509.Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: algorithm,
    signatureValue: toArrayBuffer(signature),
  });
  return {
    cert: pem('CERTIFICATE', Buffer.from(AsnConvert.serialize(cert))),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

import 'reflect-metadata';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

export interface ListenerCertificate {
  readonly cert: string;
  readonly key: string;
  /** Where the certificate is, for clients that verify it (psql sslrootcert=...). */
  readonly certFile: string;
}

const VALID_DAYS = 825;

/**
 * `tollgate start`'s listener certificate: self-signed, for localhost and 127.0.0.1, made once in
 * `<dir>/listener-tls/` and reused, so its fingerprint stays the same across restarts. Not for
 * production (there, --tls-cert and --tls-key name a certificate clients already trust); an expired
 * one is replaced.
 */
export async function selfSignedListenerCertificate(dir: string): Promise<ListenerCertificate> {
  const home = join(dir, 'listener-tls');
  const certFile = join(home, 'listener.crt');
  const keyFile = join(home, 'listener.key');
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile, 'utf8');
    if (new x509.X509Certificate(cert).notAfter.getTime() > Date.now() + 86_400_000) {
      return { cert, key: readFileSync(keyFile, 'utf8'), certFile };
    }
  }
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await globalThis.crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(8))).toString('hex'),
      name: 'CN=localhost',
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + VALID_DAYS * 86_400_000),
      signingAlgorithm: algorithm,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: 'localhost' },
          { type: 'ip', value: '127.0.0.1' },
          { type: 'ip', value: '::1' },
        ]),
      ],
    },
    globalThis.crypto,
  );
  const pkcs8 = Buffer.from(await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey)).toString(
    'base64',
  );
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
  const cert = certificate.toString('pem');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(keyFile, key, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  writeFileSync(certFile, cert);
  return { cert, key, certFile };
}

import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export interface PemKeyPair {
  readonly key: string;
  readonly cert: string;
}

/**
 * A throw-away RSA key and self-signed certificate (the development SAML IdP's signing key, and the
 * gateway's SP key when the dev IdP runs without one configured). Never for production.
 */
export async function selfSignedRsa(commonName: string, days = 1): Promise<PemKeyPair> {
  const algorithm = {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    publicExponent: new Uint8Array([1, 0, 1]),
    modulusLength: 2048,
  };
  const keys = await globalThis.crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(8))).toString('hex'),
      name: `CN=${commonName}`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + days * 86_400_000),
      signingAlgorithm: algorithm,
      keys,
    },
    globalThis.crypto,
  );
  const pkcs8 = Buffer.from(await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey)).toString(
    'base64',
  );
  return {
    key: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`,
    cert: cert.toString('pem'),
  };
}

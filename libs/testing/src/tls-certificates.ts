import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A self-signed certificate made by the real openssl, for TLS tests. */
export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly pem: Buffer;
  /** As `openssl x509 -noout -fingerprint -sha256` prints it: `sha256 Fingerprint=AB:CD:...`. */
  readonly opensslFingerprint: string;
  /** The same, as `sha256:AB:CD:...`. */
  readonly fingerprint: string;
}

/**
 * Makes a self-signed P-256 certificate in `dir` (files named after `name`) for the given subject
 * alternative names (default: localhost and 127.0.0.1), valid for `days` (a negative number makes
 * one that has already expired).
 */
export function makeCertificate(
  dir: string,
  name: string,
  options: { readonly altNames?: readonly string[]; readonly days?: number } = {},
): TestCertificate {
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  const altNames = options.altNames ?? ['DNS:localhost', 'IP:127.0.0.1'];
  writeFileSync(extFile, `basicConstraints=critical,CA:TRUE\nsubjectAltName=${altNames.join(',')}\n`);
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  openssl([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    keyFile,
    '-out',
    csrFile,
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    csrFile,
    '-signkey',
    keyFile,
    '-days',
    String(options.days ?? 1),
    '-extfile',
    extFile,
    '-out',
    certFile,
  ]);
  const opensslFingerprint = openssl(['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'])
    .toString()
    .trim();
  const hex = opensslFingerprint.slice(opensslFingerprint.indexOf('=') + 1);
  return { certFile, keyFile, pem: readFileSync(certFile), opensslFingerprint, fingerprint: `sha256:${hex}` };
}

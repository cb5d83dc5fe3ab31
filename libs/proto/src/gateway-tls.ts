import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';

/** How a tunnel client (agent, `tollgate connect`) reaches the gateway's gRPC endpoint. */
export interface GatewayEndpoint {
  /** host:port */
  readonly address: string;
  readonly host: string;
  readonly tls: boolean;
}

/** What a tunnel client trusts in the gateway's certificate, beyond its name. */
export interface GatewayTrust {
  /** PEM CA certificates; the system roots when absent. */
  readonly ca?: Buffer;
  /** The leaf certificate's SHA-256 (64 lower-case hex digits) the gateway must present. */
  readonly fingerprint?: string;
}

/** Node's error code for a certificate whose fingerprint is not the pinned one (ours). */
export const FINGERPRINT_MISMATCH = 'ERR_TLS_CERT_FINGERPRINT_MISMATCH';

/** The SHA-256 of a certificate's DER encoding, as 64 lower-case hex digits. */
export function certificateSha256(cert: Pick<PeerCertificate, 'raw'>): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** `sha256:AB:CD:...`: how fingerprints are printed (openssl's byte form, with the algorithm). */
export function formatFingerprint(hex: string): string {
  return `sha256:${(hex.replaceAll(':', '').toUpperCase().match(/../g) ?? []).join(':')}`;
}

/**
 * The checks a tunnel client adds to the CA chain's: the certificate names the host dialed (Node's
 * own check), and when a fingerprint is pinned, it is that exact certificate. Runs on every TLS
 * connection the gRPC channel makes (and in the probe); undefined when the certificate passes.
 */
export function verifyGatewayCertificate(
  host: string,
  cert: PeerCertificate,
  fingerprint: string | undefined,
): Error | undefined {
  const nameError = checkServerIdentity(host, cert);
  if (nameError) return nameError;
  if (fingerprint === undefined) return undefined;
  const presented = certificateSha256(cert);
  if (presented === fingerprint) return undefined;
  return Object.assign(
    new Error(
      `the gateway presented certificate ${formatFingerprint(presented)}, not the pinned ${formatFingerprint(fingerprint)}`,
    ),
    { code: FINGERPRINT_MISMATCH },
  );
}

/** gRPC channel credentials for the gateway: plain text, or TLS with the CA, name and pin checks. */
export function gatewayChannelCredentials(
  endpoint: GatewayEndpoint,
  trust: GatewayTrust,
): ChannelCredentials {
  if (!endpoint.tls) return credentials.createInsecure();
  return credentials.createSsl(trust.ca ?? null, null, null, {
    checkServerIdentity: (host, cert) => verifyGatewayCertificate(host, cert, trust.fingerprint),
  });
}

/** Certificate verification codes that a retry cannot fix: the same certificate fails again. */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
]);

export type TlsVerdict =
  | { readonly ok: true; readonly fingerprint: string }
  /** `permanent`: the certificate will never verify (retrying is pointless); else the network failed. */
  | { readonly ok: false; readonly permanent: boolean; readonly reason: string };

/** Sorts a TLS connection failure into "this certificate will never verify" and everything else. */
export function classifyTlsFailure(error: NodeJS.ErrnoException, host: string): TlsVerdict {
  const code = error.code ?? '';
  const detail = `${error.message}${code && !error.message.includes(code) ? ` (${code})` : ''}`;
  if (code === FINGERPRINT_MISMATCH) return { ok: false, permanent: true, reason: error.message };
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return {
      ok: false,
      permanent: true,
      reason: `the gateway's certificate is outside its validity period: ${detail}`,
    };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
    return {
      ok: false,
      permanent: true,
      reason: `the gateway's certificate is not valid for ${host}: ${detail}`,
    };
  }
  if (UNTRUSTED.has(code)) {
    return {
      ok: false,
      permanent: true,
      reason: `the gateway's certificate is not signed by a trusted CA (give its CA with --ca-file): ${detail}`,
    };
  }
  return { ok: false, permanent: false, reason: detail || 'the TLS connection failed' };
}

/**
 * One TLS handshake with the gateway, checked exactly as the gRPC channel checks it, to tell why a
 * connection failed: grpc-js reports every failure as UNAVAILABLE with a message, so a client that
 * must stop on a certificate that will never verify (and keep retrying a network failure) asks here.
 */
export function probeGatewayTls(
  endpoint: GatewayEndpoint,
  trust: GatewayTrust,
  timeoutMs = 10_000,
): Promise<TlsVerdict> {
  const port = Number(endpoint.address.slice(endpoint.address.lastIndexOf(':') + 1));
  const host = endpoint.host.replace(/^\[(.*)\]$/, '$1');
  return new Promise<TlsVerdict>((resolve) => {
    const socket = tlsConnect({
      host,
      port,
      // SNI carries host names only (RFC 6066); the name check still covers IP addresses.
      ...(isIP(host) ? {} : { servername: host }),
      ...(trust.ca ? { ca: trust.ca } : {}),
      ALPNProtocols: ['h2'],
      checkServerIdentity: (name, cert) => verifyGatewayCertificate(name, cert, trust.fingerprint),
    });
    const finish = (verdict: TlsVerdict) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(
      () => finish({ ok: false, permanent: false, reason: `no TLS handshake within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.once('secureConnect', () =>
      finish({ ok: true, fingerprint: certificateSha256(socket.getPeerCertificate()) }),
    );
    socket.once('error', (error: NodeJS.ErrnoException) => finish(classifyTlsFailure(error, host)));
  });
}

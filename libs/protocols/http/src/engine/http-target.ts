import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import { TlsMode, type HttpCredential, type TlsSettings } from '@tollgate/proto';
import {
  connectWithFrameReads,
  targetCa,
  targetSecret,
  TargetUnreachableError,
} from '@tollgate/protocol-tcp';
import type { HttpHeader } from '../http-messages';

/** How the agent reaches an HTTP(S) target and what it adds to each request; secrets resolved. */
export interface HttpTargetSettings {
  readonly url: URL;
  readonly tls: {
    /** Whether the certificate chain and host name are checked (unset TLS mode: yes). */
    readonly verify: boolean;
    readonly ca?: string;
    readonly cert?: string;
    readonly key?: string;
    readonly servername?: string;
  };
  /** The credential as headers (Authorization, named headers). */
  readonly inject: readonly HttpHeader[];
  /** The credential's values as resolved and as sent (a token, a password, Basic's base64 pair). */
  readonly secrets: readonly string[];
  readonly connectTimeoutMs: number;
}

export type SecretResolver = (reference: string) => string;

/** A header value that could split the request (CR, LF, NUL) is refused rather than sent. */
function headerSafe(name: string, value: string): HttpHeader {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    throw new TargetUnreachableError(`the credential header name "${name}" is not a valid header name`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
    throw new TargetUnreachableError(`the credential for header ${name} contains control characters`);
  }
  return [name, value.trim()];
}

/** Resolves a target's URL, TLS settings and credential references into what a session needs. */
export function httpTargetSettings(
  connection: string,
  baseUrl: string,
  tls: TlsSettings | undefined,
  credential: HttpCredential | undefined,
  resolveSecret: SecretResolver,
  connectTimeoutMs: number,
): HttpTargetSettings {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TargetUnreachableError(`connection "${connection}" has no valid target URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TargetUnreachableError(`connection "${connection}": the target URL must be http or https`);
  }
  const secrets: string[] = [];
  const secret = (reference: string) => {
    const value = targetSecret(resolveSecret, reference);
    secrets.push(value.trim());
    return value;
  };
  const inject: HttpHeader[] = [];
  if (credential?.bearerTokenRef)
    inject.push(headerSafe('Authorization', `Bearer ${secret(credential.bearerTokenRef)}`));
  if (credential?.basicPasswordRef) {
    const pair = `${credential.basicUsername}:${secret(credential.basicPasswordRef)}`;
    const encoded = Buffer.from(pair, 'utf8').toString('base64');
    secrets.push(encoded);
    inject.push(['Authorization', `Basic ${encoded}`]);
  }
  for (const [name, reference] of Object.entries(credential?.headerRefs ?? {}).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    inject.push(headerSafe(name, secret(reference)));
  }
  const mode = tls?.mode ?? TlsMode.UNSPECIFIED;
  const ca = targetCa(tls, resolveSecret);
  return {
    url,
    tls: {
      verify: mode !== TlsMode.REQUIRE && mode !== TlsMode.PREFER && mode !== TlsMode.DISABLE,
      ...(ca ? { ca } : {}),
      ...(tls?.clientCertRef ? { cert: secret(tls.clientCertRef) } : {}),
      ...(tls?.clientKeyRef ? { key: secret(tls.clientKeyRef) } : {}),
      ...(tls?.serverName ? { servername: tls.serverName } : {}),
    },
    inject,
    secrets: secrets.filter((value) => value.length > 0),
    connectTimeoutMs,
  };
}

/** The authority sent as Host: the URL's host, with its port only when it is not the default. */
export function hostHeader(url: URL): string {
  return url.host;
}

/** Opens one connection to the target (TLS for https, verified unless the connection says otherwise). */
export function connectHttpTarget(settings: HttpTargetSettings): Promise<Duplex> {
  const { url, tls } = settings;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const https = url.protocol === 'https:';
  const port = Number(url.port) || (https ? 443 : 80);
  const where = `${url.host}`;
  return new Promise<Duplex>((resolve, reject) => {
    const socket = https
      ? tlsConnect({
          host,
          port,
          ALPNProtocols: ['http/1.1'],
          servername: tls.servername ?? (isIP(host) ? undefined : host),
          rejectUnauthorized: tls.verify,
          ...(tls.ca ? { ca: tls.ca } : {}),
          ...(tls.cert ? { cert: tls.cert } : {}),
          ...(tls.key ? { key: tls.key } : {}),
        })
      : // Reads with room for the frame header in front: a response body read leaves the agent as
        // one frame encoded around its bytes instead of being copied into frames.
        connectWithFrameReads({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new TargetUnreachableError(`connecting to ${where} timed out after ${settings.connectTimeoutMs} ms`),
      );
    }, settings.connectTimeoutMs);
    socket.once(https ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      const why = error.code && !error.code.startsWith('ERR_') ? error.code : error.message;
      reject(new TargetUnreachableError(`cannot connect to ${where}${https ? ' (TLS)' : ''}: ${why}`));
    });
  });
}

import { z } from 'zod';

/** Where a tunnel client (agent, `tollgate connect`) dials the gateway's gRPC endpoint. */
export interface TunnelEndpoint {
  /** host:port for grpc-js. */
  readonly address: string;
  readonly host: string;
  readonly tls: boolean;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?)$/i;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

/**
 * `https://host:port` or `grpcs://host:port` dial with TLS; `http://` or `grpc://` dial in plain
 * text (allowed only to a loopback gateway unless the insecure flag is set, checked by the caller).
 * The port defaults to 8010.
 */
export const tunnelEndpoint = z.string().transform((value, context): TunnelEndpoint => {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    context.addIssue({ code: 'custom', message: 'not a URL' });
    return z.NEVER;
  }
  const tls = url.protocol === 'https:' || url.protocol === 'grpcs:';
  if (!tls && url.protocol !== 'http:' && url.protocol !== 'grpc:') {
    context.addIssue({ code: 'custom', message: 'unsupported scheme' });
    return z.NEVER;
  }
  if (url.hostname === '' || (url.pathname !== '/' && url.pathname !== '')) {
    context.addIssue({ code: 'custom', message: 'expected scheme://host:port' });
    return z.NEVER;
  }
  const port = url.port === '' ? '8010' : url.port;
  return { address: `${url.hostname}:${port}`, host: url.hostname, tls };
});

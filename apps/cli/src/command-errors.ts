import type { Command } from 'commander';
import { ConfigError } from '@tollgate/config';
import { OpenStreamError } from './connect/open-stream.error';
import { refusedTokenHint } from './credentials/access-token';

/** `tollgate admin connections create`: the command's names from the root down. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/** One line for the user: no stack trace; a failed fetch names why (connection refused, ...). */
export function describeError(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  if (error instanceof OpenStreamError && error.unauthenticated) {
    return `${error.message} (${refusedTokenHint()})`;
  }
  if (error instanceof TypeError && error.cause instanceof Error) {
    return unreachable(error.cause) ?? `${error.message}: ${error.cause.message}`;
  }
  if (error instanceof Error && error.name === 'TimeoutError') {
    return `the gateway did not answer in time (${error.message}): is it overloaded, or is --gateway/TOLLGATE_URL another service?`;
  }
  return error instanceof Error ? error.message : String(error);
}

const NOT_REACHED: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'nothing listens there',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be looked up',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'no route to the network',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
};

/**
 * A fetch that never reached the gateway (undici's `fetch failed` with a socket error as its
 * cause): where it tried, why it failed, and what to do, instead of `fetch failed: connect
 * ECONNREFUSED 127.0.0.1:8009`.
 */
function unreachable(cause: Error): string | undefined {
  const { code, address, port, hostname } = cause as NodeJS.ErrnoException & {
    address?: string;
    port?: number;
    hostname?: string;
  };
  const why = code ? NOT_REACHED[code] : undefined;
  if (!why) return undefined;
  const where = address ? `${address}${port ? `:${port}` : ''}` : (hostname ?? 'its address');
  return (
    `cannot reach the gateway at ${where} (${why}, ${code}): is it running? ` +
    'Start one with `tollgate start`, or name yours with --gateway or TOLLGATE_URL'
  );
}

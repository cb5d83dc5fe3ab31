import type { Command } from 'commander';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { ConfigError } from '@tollgate/config';
import { OpenStreamError } from './connect/read-open-result';
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
  if (error instanceof OpenStreamError && error.status === GrpcStatus.UNAUTHENTICATED) {
    return `${error.message} (${refusedTokenHint()})`;
  }
  if (error instanceof TypeError && error.cause instanceof Error) {
    return `${error.message}: ${error.cause.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

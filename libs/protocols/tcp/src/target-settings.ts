import { TlsMode } from '@tollgate/proto';
import { TargetUnreachableError } from './target-unreachable.error';

/** How an engine's client side of TLS to the target is checked (libpq's sslmode names). */
export type TargetTlsMode = 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

const TLS_MODES: Partial<Record<TlsMode, TargetTlsMode>> = {
  [TlsMode.DISABLE]: 'disable',
  [TlsMode.PREFER]: 'prefer',
  [TlsMode.REQUIRE]: 'require',
  [TlsMode.VERIFY_CA]: 'verify-ca',
  [TlsMode.VERIFY_FULL]: 'verify-full',
};

/** The connection's TLS mode; unset means verify-full (secure by default). */
export function targetTlsMode(mode: TlsMode | undefined): TargetTlsMode {
  return TLS_MODES[mode ?? TlsMode.UNSPECIFIED] ?? 'verify-full';
}

/**
 * Resolves a secret reference for a target login; a reference that cannot be read makes the target
 * unreachable, with a message that names the reference, never a value.
 */
export function targetSecret(resolve: (reference: string) => string, reference: string): string {
  try {
    return resolve(reference);
  } catch (error) {
    throw new TargetUnreachableError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The CA that verifies the target's certificate: the connection's inline PEM (`tls.ca` as
 * registered), or a secret reference the agent resolves; none means the system's trust store.
 */
export function targetCa(
  tls: { readonly caRef?: string; readonly caPem?: string } | undefined,
  resolve: (reference: string) => string,
): string | undefined {
  if (tls?.caRef) return targetSecret(resolve, tls.caRef);
  return tls?.caPem || undefined;
}

import type { ConnectionSpec } from '@tollgate/proto';
import { TargetUnreachableError } from '@tollgate/protocol-tcp';
import { normalizeFingerprint } from './host-key-fingerprint';

/** How the agent reaches and authenticates to one SSH server, with the secrets resolved. */
export interface SshTargetSettings {
  readonly connection: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password?: string;
  readonly privateKey?: string;
  readonly passphrase?: string;
  /** Accepted host key fingerprints; empty only with `trustOnFirstUse`. */
  readonly fingerprints: readonly string[];
  readonly trustOnFirstUse: boolean;
}

/**
 * Reads a connection's SSH target; secrets are resolved here (on the agent) and errors name the
 * reference, never a value. A connection that pins nothing and does not trust on first use is
 * refused: its sessions could not tell the server from an impostor.
 */
export function sshTargetSettings(
  spec: ConnectionSpec,
  resolveSecret: (reference: string) => string,
): SshTargetSettings {
  if (spec.target?.$case !== 'ssh') {
    throw new TargetUnreachableError(`connection "${spec.name}" has no ssh target`);
  }
  const ssh = spec.target.ssh;
  const secret = (reference: string) => {
    try {
      return resolveSecret(reference);
    } catch (error) {
      throw new TargetUnreachableError(error instanceof Error ? error.message : String(error));
    }
  };
  const fingerprints = ssh.hostKeyFingerprints.map((text) => {
    const canonical = normalizeFingerprint(text);
    if (!canonical) {
      throw new TargetUnreachableError(
        `connection "${spec.name}" pins "${text}", which is not an OpenSSH SHA256 fingerprint`,
      );
    }
    return canonical;
  });
  if (fingerprints.length === 0 && !ssh.trustOnFirstUse) {
    throw new TargetUnreachableError(
      `connection "${spec.name}" pins no host key: set target.hostKeyFingerprint (ssh-keygen -lf the server's key) or target.trustOnFirstUse`,
    );
  }
  // Without a separate key reference the connection's credential is the password.
  const passwordRef =
    spec.credentialRef && spec.credentialRef !== ssh.privateKeyRef ? spec.credentialRef : '';
  if (!passwordRef && !ssh.privateKeyRef) {
    throw new TargetUnreachableError(`connection "${spec.name}" has no credential (password or privateKey)`);
  }
  return {
    connection: spec.name,
    host: ssh.host,
    port: ssh.port || 22,
    username: ssh.username,
    ...(passwordRef ? { password: secret(passwordRef) } : {}),
    ...(ssh.privateKeyRef ? { privateKey: secret(ssh.privateKeyRef) } : {}),
    ...(ssh.passphraseRef ? { passphrase: secret(ssh.passphraseRef) } : {}),
    fingerprints,
    trustOnFirstUse: ssh.trustOnFirstUse,
  };
}

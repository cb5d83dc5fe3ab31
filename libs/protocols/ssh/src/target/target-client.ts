import { TargetUnreachableError } from '@tollgate/protocol-tcp';
import { Client, utils } from 'ssh2';
import { coalesceWrites, sshSocket } from '../front/coalesce-writes';
import { installSsh2CipherKeys } from '../transport/ssh2-cipher-keys';
import { hostKeyFingerprint } from './host-key-fingerprint';
import type { HostKeyPins } from './host-key-pins';
import type { SshTargetSettings } from './ssh-target-settings';

/** The target presented a host key other than the pinned one. */
export class HostKeyMismatchError extends TargetUnreachableError {
  constructor(
    readonly address: string,
    readonly presented: string,
    readonly pinned: readonly string[],
  ) {
    super(
      `host key mismatch: the SSH server at ${address} presented ${presented}, but the connection pins ${pinned.join(' or ')}; refused`,
    );
  }
}

/**
 * Opens the SSH connection to the target with the connection's credential, holding the server to
 * its pinned host key (or pinning the first key seen, when the connection trusts on first use).
 * Resolves with a client that is authenticated; rejects with a TargetUnreachableError the caller
 * may show (it names references and fingerprints, never secrets).
 */
export function connectTarget(
  settings: SshTargetSettings,
  pins: HostKeyPins,
  timeoutMs: number,
): Promise<Client> {
  const address = `${settings.host}:${settings.port}`;
  if (settings.privateKey !== undefined) {
    // Read here so a wrong passphrase or a damaged key is reported as such, not as a refused login.
    const privateKey = utils.parseKey(settings.privateKey, settings.passphrase);
    if (privateKey instanceof Error) {
      return Promise.reject(
        new TargetUnreachableError(
          `the private key of connection "${settings.connection}" could not be read: ${privateKey.message}`,
        ),
      );
    }
  }
  let refusal: TargetUnreachableError | undefined;
  const verifyHostKey = (key: Buffer): boolean => {
    const presented = hostKeyFingerprint(key);
    const learned = settings.fingerprints.length === 0 ? pins.get(settings.connection, address) : undefined;
    const pinned = settings.fingerprints.length > 0 ? settings.fingerprints : learned ? [learned] : [];
    if (pinned.length === 0 && settings.trustOnFirstUse) {
      try {
        pins.pin(settings.connection, address, presented);
        return true;
      } catch (error) {
        refusal = new TargetUnreachableError(
          `could not keep the host key pin for ${address}: ${error instanceof Error ? error.message : String(error)}`,
        );
        return false;
      }
    }
    if (pinned.includes(presented)) return true;
    refusal = new HostKeyMismatchError(address, presented, pinned);
    return false;
  };

  return new Promise<Client>((resolve, reject) => {
    installSsh2CipherKeys();
    const client = new Client();
    client.once('ready', () => {
      // Keystrokes are small writes: without this, Nagle's algorithm and the server's delayed ACK
      // hold each echo ~40 ms (ssh2 leaves its sockets at Node's default).
      client.setNoDelay(true);
      const socket = sshSocket(client);
      if (socket) coalesceWrites(socket);
      resolve(client);
    });
    client.once('error', (error: Error & { level?: string }) => {
      client.end();
      if (refusal) return reject(refusal);
      if (error.level === 'client-authentication') {
        return reject(
          new TargetUnreachableError(
            `the SSH server at ${address} refused the credential of user "${settings.username}"`,
          ),
        );
      }
      reject(
        new TargetUnreachableError(`the SSH server at ${address} could not be reached: ${error.message}`),
      );
    });
    client.connect({
      host: settings.host,
      port: settings.port,
      username: settings.username,
      ...(settings.password !== undefined ? { password: settings.password } : {}),
      ...(settings.privateKey !== undefined ? { privateKey: settings.privateKey } : {}),
      ...(settings.passphrase !== undefined ? { passphrase: settings.passphrase } : {}),
      readyTimeout: timeoutMs,
      hostVerifier: verifyHostKey,
      keepaliveInterval: 30_000,
    });
  });
}

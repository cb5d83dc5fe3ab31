import type { ConnectConfig } from '@tollgate/config';
import { frameStreamDuplex } from '@tollgate/protocol-tcp';
import { writeFileSync } from 'node:fs';
import {
  hostKeyFileFingerprint,
  hostKeyPublicLine,
  loadOrCreateHostKey,
  startSshFront,
} from '@tollgate/protocol-ssh';
import type { ListenerOptions, LocalListener } from './local-listener';
import { clientCodec, describeFailure, openTunnelSession, tunnelClient } from './tunnel-session';

const HOST_KEY_ALIAS = 'tollgate-connect';

/**
 * `tollgate connect` for an SSH connection: a local SSH server (the user's own host key, made once)
 * that ssh, scp and sftp reach with no secret; each client connection is a session of its own,
 * opened through the gateway to the agent's SSH engine, which decides and records what it runs.
 */
export async function startSshListener(
  config: ConnectConfig,
  options: ListenerOptions,
): Promise<LocalListener> {
  const client = tunnelClient(config);
  const hostKey = loadOrCreateHostKey(config.sshHostKeyFile);
  // A known_hosts of its own, under an alias: ssh run by --exec trusts this key on any port without
  // asking and without touching the user's ~/.ssh/known_hosts.
  const knownHosts = `${config.sshHostKeyFile}.known_hosts`;
  writeFileSync(knownHosts, `${HOST_KEY_ALIAS} ${hostKeyPublicLine(hostKey)}\n`, { mode: 0o600 });
  const front = await startSshFront({
    hostKey,
    port: options.port,
    openSession: async (clientAddr) => {
      const outcome = await openTunnelSession(client, {
        connectionName: options.connectionName,
        token: await options.token(),
        clientVersion: options.clientVersion,
        clientAddr,
      });
      if (outcome.kind === 'failed') {
        const message = describeFailure(options.connectionName, outcome.failed);
        options.report(message);
        throw new Error(message);
      }
      const { sessionId, agentName } = outcome.opened;
      options.report(`session ${sessionId} open via agent ${agentName}`);
      outcome.call.on('close', () => options.report(`session ${sessionId} closed`));
      return frameStreamDuplex(outcome.call, clientCodec);
    },
  });
  return {
    port: front.port,
    client: {
      args: ['-o', `UserKnownHostsFile=${knownHosts}`, '-o', `HostKeyAlias=${HOST_KEY_ALIAS}`],
      note: `the first time, ssh asks about this host key: ${hostKeyFileFingerprint(hostKey)} is tollgate connect's own`,
    },
    close: async () => {
      await front.close();
      client.close();
    },
  };
}

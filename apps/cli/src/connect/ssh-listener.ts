import type { ConnectConfig } from '@tollgate/config';
import { frameStreamDuplex } from '@tollgate/protocol-tcp';
import { loadOrCreateHostKey, startSshFront } from '@tollgate/protocol-ssh';
import type { ListenerOptions, LocalListener } from './local-listener';
import { clientCodec, describeFailure, openTunnelSession, tunnelClient } from './tunnel-session';

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
  const front = await startSshFront({
    hostKey: loadOrCreateHostKey(config.sshHostKeyFile),
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
    close: async () => {
      await front.close();
      client.close();
    },
  };
}

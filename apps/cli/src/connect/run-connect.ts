import { protocolFromJSON } from '@tollgate/proto';
import { writeKubeContext } from './kubeconfig';
import { clientCommand, shellLine } from './client-command';
import { connectionProtocol, defaultLocalPort } from './default-port';
import { startLocalListener, type LocalListener } from './local-listener';
import { runClient } from './run-client';
import { startSshListener } from './ssh-listener';
import { currentAccessToken, keepLoginFresh } from '../credentials/access-token';
import type { TunnelFlags } from '../commands/tunnel-options';
import { tunnelConfig } from './tunnel-config';
import { CLI_VERSION } from '../version';

export interface ConnectFlags extends TunnelFlags {
  port?: string;
  exec?: boolean;
  kubeconfig?: string;
}

/** `tollgate connect NAME`: what connectCommand runs (see there). */
export async function runConnect(name: string, clientArgs: string[], flags: ConnectFlags): Promise<void> {
  if (clientArgs.length > 0 && !flags.exec) {
    throw new Error(`client arguments (${clientArgs.join(' ')}) are for --exec`);
  }
  const { config, token } = await tunnelConfig(flags, { port: flags.port, kubeconfig: flags.kubeconfig });
  const report = (line: string) => process.stderr.write(`${line}\n`);
  // With --port a refusal is said per session, to the client, in its own protocol; the protocol
  // then only picks the listener and the client to suggest.
  const said =
    config.port === undefined || flags.exec
      ? await connectionProtocol(name, token, report)
      : await connectionProtocol(name, token, () => undefined).catch(() => undefined);
  const protocol = said ?? 'tcp';
  const port = config.port ?? (flags.exec ? 0 : defaultLocalPort(protocol));
  // SSH is served by a local SSH server; every other protocol's client is relayed byte for byte.
  const start = protocol === 'ssh' ? startSshListener : startLocalListener;
  const listener = await start(config, {
    connectionName: name,
    port,
    // Asked for at every session: a saved login is re-read and refreshed before it expires.
    token: () => currentAccessToken(),
    clientVersion: CLI_VERSION,
    report,
    // A refusal before a session opens (an expired login) is said in this protocol.
    ...(said === undefined || said === 'tcp'
      ? {}
      : { protocol: protocolFromJSON(`PROTOCOL_${said.toUpperCase()}`) }),
  }).catch((error: unknown) => {
    throw listenError(error, port);
  });
  if (flags.exec) {
    const command = clientCommand(protocol, name, listener.port);
    const needs = listener.client?.args ?? [];
    await runClient({ ...command, args: [...needs, ...command.args] }, clientArgs, listener);
    return;
  }
  process.stdout.write(`listening on 127.0.0.1:${listener.port} for "${name}"; Ctrl-C to stop\n`);
  let client = clientCommand(protocol, name, listener.port);
  if (protocol === 'kubernetes') {
    // kubectl and client libraries find the listener through their kubeconfig, unchanged.
    const written = writeKubeContext(config.kubeconfig, name, listener.port);
    process.stdout.write(
      `kubeconfig ${config.kubeconfig}: context ${written.context}${written.current ? ' (now current)' : ''}\n`,
    );
    client = {
      program: 'kubectl',
      args: ['--context', written.context],
      defaults: ['get', 'namespaces'],
    };
  }
  process.stdout.write(`connect with: ${shellLine(client)}\n`);
  if (listener.client) process.stdout.write(`(${listener.client.note})\n`);
  // A saved login is refreshed before it expires, however long connect runs.
  keepLoginFresh((message) => report(`tollgate connect: ${message}`));
  stopOnSignal(listener);
}

function stopOnSignal(listener: LocalListener): void {
  const stop = () => {
    void listener.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The local port is taken: which port, and what to do, instead of `listen EADDRINUSE`. */
function listenError(error: unknown, port: number): unknown {
  if ((error as NodeJS.ErrnoException | undefined)?.code !== 'EADDRINUSE') return error;
  return new Error(
    `127.0.0.1:${port} is already in use (another program, another \`tollgate connect\` or a gateway ` +
      `listener is there): choose another port with --port, or --port 0 for a free one`,
  );
}

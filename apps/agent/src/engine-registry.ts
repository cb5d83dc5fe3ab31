import { resolveSecretReference } from '@tollgate/config';
import type { Protocol } from '@tollgate/proto';
import { HttpEngine, webPageGate } from '@tollgate/protocol-http';
import { KubernetesEngine } from '@tollgate/protocol-kubernetes';
import { MysqlEngine } from '@tollgate/protocol-mysql';
import { PostgresEngine } from '@tollgate/protocol-postgres';
import { FileHostKeyPins, SshEngine } from '@tollgate/protocol-ssh';
import { TcpEngine, type RelayEngine } from '@tollgate/protocol-tcp';
import type { Logger } from 'pino';

/** Protocol engines by protocol; a connection whose protocol has no engine is refused. */
export class EngineRegistry {
  private readonly engines = new Map<Protocol, RelayEngine>();

  constructor(engines: readonly RelayEngine[]) {
    for (const engine of engines) this.engines.set(engine.protocol, engine);
  }

  get(protocol: Protocol): RelayEngine | undefined {
    return this.engines.get(protocol);
  }
}

/** The engines an agent runs, configured from its settings. */
export function agentEngines(
  settings: { readonly sshHostPinsFile: string },
  logger?: Logger,
): EngineRegistry {
  return new EngineRegistry([
    // A tcp connection's bytes are not read, except a session's first: a web page's request to
    // `tollgate connect`'s loopback listener (cross-protocol, DNS rebinding) is refused.
    new TcpEngine({
      clientGate: webPageGate,
      onRefused: (spec, reason) =>
        logger?.warn(
          { connection: spec.name, reason },
          'tcp session refused before any byte reached the target',
        ),
    }),
    new PostgresEngine({ resolveSecret: resolveSecretReference }),
    new MysqlEngine({ resolveSecret: resolveSecretReference }),
    new HttpEngine({ resolveSecret: resolveSecretReference }),
    new KubernetesEngine({ resolveSecret: resolveSecretReference }),
    new SshEngine({
      resolveSecret: resolveSecretReference,
      pins: new FileHostKeyPins(settings.sshHostPinsFile),
    }),
  ]);
}

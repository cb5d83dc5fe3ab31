import { resolveSecretReference } from '@tollgate/config';
import type { Protocol } from '@tollgate/proto';
import { HttpEngine } from '@tollgate/protocol-http';
import { KubernetesEngine } from '@tollgate/protocol-kubernetes';
import { MysqlEngine } from '@tollgate/protocol-mysql';
import { PostgresEngine } from '@tollgate/protocol-postgres';
import { FileHostKeyPins, SshEngine } from '@tollgate/protocol-ssh';
import { TcpEngine, type RelayEngine } from '@tollgate/protocol-tcp';

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
export function agentEngines(settings: { readonly sshHostPinsFile: string }): EngineRegistry {
  return new EngineRegistry([
    new TcpEngine(),
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

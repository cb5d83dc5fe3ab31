import type { Protocol } from '@tollgate/proto';
import { TcpEngine, type RelayEngine } from '@tollgate/protocol-tcp';

/** Protocol engines by protocol; a connection whose protocol has no engine is refused. */
export class EngineRegistry {
  private readonly engines = new Map<Protocol, RelayEngine>();

  constructor(engines: readonly RelayEngine[] = [new TcpEngine()]) {
    for (const engine of engines) this.engines.set(engine.protocol, engine);
  }

  get(protocol: Protocol): RelayEngine | undefined {
    return this.engines.get(protocol);
  }
}

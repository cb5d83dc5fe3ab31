import { Injectable } from '@nestjs/common';
import { AccessDecider } from '../../identity/access-decider';
import type { Principal } from '../../identity/principal';
import { StoreService } from '../../store/store.service';
import { findConnectionOrThrow } from './find-connection';

export interface ConnectAccessView {
  readonly name: string;
  readonly protocol: string;
  readonly allowed: boolean;
  readonly reason: string;
}

/**
 * May the caller connect to this connection, and what does it speak? `tollgate connect` asks before
 * it listens, to pick the protocol's local port and to say at once when the answer is no. The
 * decision is audited like any other.
 */
@Injectable()
export class CheckConnectAccessUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly decider: AccessDecider,
  ) {}

  async execute(ref: string, principal: Principal, source: string): Promise<ConnectAccessView> {
    const connection = await findConnectionOrThrow(this.store.prisma, ref);
    const decision = await this.decider.decide({
      principal,
      verb: 'connect',
      connection: {
        name: connection.name,
        protocol: connection.protocol,
        tags: connection.tags as Record<string, string>,
      },
      source,
    });
    return {
      name: connection.name,
      protocol: connection.protocol,
      allowed: decision.allowed,
      reason: decision.reason,
    };
  }
}

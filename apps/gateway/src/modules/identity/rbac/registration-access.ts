import { Injectable } from '@nestjs/common';
import { ForbiddenError } from '../../../common/errors';
import { StoreService } from '../../store/store.service';
import { AccessDecider } from '../access-decider';
import type { Principal } from '../principal';

/** A connection or agent a registration request creates, changes or deletes (as it is or will be). */
export interface RegistrationTarget {
  readonly kind: 'connection' | 'agent';
  readonly name: string;
  /** A connection's tags, an agent's labels (absent: an existing agent's, read from the store). */
  readonly tags?: Readonly<Record<string, string>>;
  readonly protocol?: string;
}

/**
 * Who may register resources: `admin` may register anything; otherwise the `register` verb must
 * cover every resource the request touches — the connection or agent as it is and as it will be
 * (a rename or retag cannot take over another one), and every agent a connection is to be served
 * by (a pipeline cannot point its connection at an agent that holds other credentials). Each
 * decision is an audit record (`authorize:admin`, or `authorize:register` per resource).
 */
@Injectable()
export class RegistrationAccess {
  constructor(
    private readonly decider: AccessDecider,
    private readonly store: StoreService,
  ) {}

  async authorize(
    principal: Principal,
    resource: string,
    targets: readonly RegistrationTarget[],
    source?: string,
  ): Promise<void> {
    const admin = await this.decider.decide({
      principal,
      verb: 'admin',
      resource,
      source,
      recordDenial: false,
    });
    if (admin.allowed) return;
    const labels = await this.agentLabels(
      targets.filter((t) => t.kind === 'agent' && t.tags === undefined).map((t) => t.name),
    );
    const seen = new Set<string>();
    for (const { tags, ...target } of targets) {
      const resolved = tags ?? labels.get(target.name) ?? {};
      const key = `${target.kind}:${target.name}:${JSON.stringify(resolved)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const decision = await this.decider.decide({
        principal,
        verb: 'register',
        connection: { name: target.name, protocol: target.protocol ?? target.kind, tags: resolved },
        target: `${target.kind}:${target.name}`,
        resource,
        source,
      });
      if (!decision.allowed) {
        throw new ForbiddenError(`register denied on ${target.kind} "${target.name}": ${decision.reason}`);
      }
    }
  }

  private async agentLabels(names: readonly string[]): Promise<Map<string, Record<string, string>>> {
    if (names.length === 0) return new Map();
    const agents = await this.store.prisma.agent.findMany({
      where: { name: { in: [...names] } },
      select: { name: true, labels: true },
    });
    return new Map(agents.map((a) => [a.name, (a.labels ?? {}) as Record<string, string>]));
  }
}

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
  /** For a connection the request touches only because an agent it names serves it: that agent. */
  readonly servedBy?: string;
}

/**
 * Who may register resources: `admin` may register anything; otherwise the `register` verb must
 * cover every resource the request touches — the connection or agent as it is and as it will be
 * (a rename or retag cannot take over another one), every agent a connection is to be served by,
 * and every connection each of those agents serves. An agent holds the credentials of every
 * connection it serves, so covering its name or labels is not enough: a pipeline may neither point
 * its connection at an agent that also serves `pg-prod` (and name pg-prod's credential reference),
 * nor issue itself a token for such an agent, revoke its tokens, edit or delete it. Each decision is
 * an audit record (`authorize:admin`, or `authorize:register` per resource).
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
    const served = await this.servedConnections(targets.filter((t) => t.kind === 'agent').map((t) => t.name));
    const seen = new Set<string>();
    for (const { tags, servedBy, ...target } of [...targets, ...served]) {
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
        const via = servedBy ? ` (served by agent "${servedBy}", which holds its credential)` : '';
        throw new ForbiddenError(
          `register denied on ${target.kind} "${target.name}"${via}: ${decision.reason}`,
        );
      }
    }
  }

  /** The connections the named (existing) agents serve, as they are now. */
  private async servedConnections(agentNames: readonly string[]): Promise<RegistrationTarget[]> {
    if (agentNames.length === 0) return [];
    const rows = await this.store.prisma.connection.findMany({
      where: { agents: { some: { agent: { name: { in: [...new Set(agentNames)] } } } } },
      select: {
        name: true,
        protocol: true,
        tags: true,
        agents: { select: { agent: { select: { name: true } } } },
      },
      orderBy: { name: 'asc' },
    });
    return rows.map((row) => ({
      kind: 'connection',
      name: row.name,
      tags: (row.tags ?? {}) as Record<string, string>,
      protocol: row.protocol,
      servedBy: row.agents.map((a) => a.agent.name).find((name) => agentNames.includes(name)),
    }));
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

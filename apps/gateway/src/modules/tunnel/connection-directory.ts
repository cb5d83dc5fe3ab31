import { Injectable } from '@nestjs/common';
import type { FactCache } from '../store/fact-cache';
import { StoreService } from '../store/store.service';
import type { NewSession } from './session-records';

/** What a session open needs to know of a connection. */
export interface SessionConnection {
  readonly id: string;
  readonly name: string;
  readonly protocol: NewSession['protocol'];
  readonly tags: Readonly<Record<string, string>>;
  /** The agents assigned to serve it. */
  readonly agentIds: readonly string[];
}

/**
 * Connections by name for session opens, kept in memory until a connection or an assignment of
 * agents to connections changes (through any replica: the store announces it).
 */
@Injectable()
export class ConnectionDirectory {
  private readonly byName: FactCache<SessionConnection>;

  constructor(private readonly store: StoreService) {
    this.byName = store.facts({ tables: ['connections', 'connection_agents'], maxEntries: 10_000 });
  }

  find(name: string): Promise<SessionConnection | undefined> {
    return this.byName.get(name, async () => {
      const row = await this.store.prisma.connection.findUnique({
        where: { name },
        include: { agents: { select: { agentId: true } } },
      });
      if (!row) return undefined;
      return {
        id: row.id,
        name: row.name,
        protocol: row.protocol,
        tags: row.tags as Record<string, string>,
        agentIds: row.agents.map((a) => a.agentId),
      };
    });
  }
}

import { Injectable } from '@nestjs/common';
import type { Verb } from '@tollgate/policy';
import { StoreService } from '../../store/store.service';
import type { Principal } from '../principal';
import { AccessExplorer, type ConnectionVerb } from '../rbac/access-explorer';

export interface CallerConnectionView {
  readonly name: string;
  readonly protocol: string;
  readonly description: string | null;
  readonly tags: Record<string, string>;
  /** What the caller may do on it now. */
  readonly verbs: ConnectionVerb[];
  /** What the caller may ask for with an access request. */
  readonly requestable: ConnectionVerb[];
  readonly grantExpiresAt: string | null;
}

export interface CallerAccessView {
  readonly subject: string;
  readonly displayName: string;
  /** Gateway verbs held: admin, audit:read, review. */
  readonly verbs: Verb[];
  /** Connections the caller may use or ask for, by name; the others are not listed. */
  readonly connections: CallerConnectionView[];
}

/**
 * What the caller may do, for any signed-in caller: its gateway verbs, and the connections it may
 * use (with the verbs) or ask for. The console shows its pages from this and `tollgate ls` lists it.
 */
@Injectable()
export class DescribeCallerAccessUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly explorer: AccessExplorer,
  ) {}

  async execute(principal: Principal): Promise<CallerAccessView> {
    const rows = await this.store.prisma.connection.findMany({
      select: { name: true, protocol: true, description: true, tags: true },
      orderBy: { name: 'asc' },
    });
    const connections = rows.map((row) => ({ ...row, tags: row.tags as Record<string, string> }));
    const [verbs, byConnection] = await Promise.all([
      this.explorer.gatewayVerbs(principal),
      this.explorer.connectionVerbs(principal, connections),
    ]);
    return {
      subject: principal.subject,
      displayName: principal.displayName,
      verbs,
      connections: connections.flatMap((connection) => {
        const access = byConnection.get(connection.name);
        if (!access || (access.verbs.length === 0 && access.requestable.length === 0)) return [];
        return [
          {
            ...connection,
            verbs: access.verbs,
            requestable: access.requestable,
            grantExpiresAt: access.grantExpiresAt ?? null,
          },
        ];
      }),
    };
  }
}

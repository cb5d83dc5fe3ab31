import { Injectable } from '@nestjs/common';
import { SessionAuditService } from '../audit/session-audit.service';
import { StoreService } from '../store/store.service';
import { GatewayReplica } from './gateway-replica';
import { TunnelSettings } from './tunnel-settings';

/** The columns of a session row its close needs. */
interface SessionRow {
  readonly id: string;
  readonly subject: string;
  readonly actorChain: unknown;
  readonly connectionName: string;
  readonly protocol: string;
  readonly policyVersion: number | null;
  readonly replicaId: string | null;
}

const SESSION_COLUMNS = {
  id: true,
  subject: true,
  actorChain: true,
  connectionName: true,
  protocol: true,
  policyVersion: true,
  replicaId: true,
} as const;

/** Rows per sweep; the next sweep takes the rest. */
const SWEEP_BATCH = 200;

/**
 * Sessions nobody relays any more: their gateway replica's heartbeat stopped longer than the
 * liveness window ago (or they predate replica tracking and are older than it). Closing one is a
 * conditional update, so of several replicas sweeping at once exactly one records its close.
 */
@Injectable()
export class LostSessions {
  constructor(
    private readonly store: StoreService,
    private readonly replica: GatewayReplica,
    private readonly audit: SessionAuditService,
    private readonly settings: TunnelSettings,
  ) {}

  /** Closes every lost session (up to a batch); resolves how many this replica closed. */
  async sweep(): Promise<number> {
    const stale = new Date(Date.now() - this.settings.replicaLivenessMs);
    const live = await this.liveReplicas(stale);
    const rows = await this.store.prisma.session.findMany({
      where: {
        state: { not: 'closed' },
        OR: [{ replicaId: { notIn: live } }, { replicaId: null, startedAt: { lt: stale } }],
      },
      select: SESSION_COLUMNS,
      take: SWEEP_BATCH,
    });
    let closed = 0;
    for (const row of rows) {
      if (await this.close(row, lostReason(row.replicaId))) closed++;
    }
    return closed;
  }

  /**
   * Whether the session is relayed by a live replica (a kill request then reaches it); when it is
   * not, closes it as lost and resolves with the reason recorded. Undefined: no such open session.
   */
  async closeUnlessRelayed(
    id: string,
    requestedBy: string,
  ): Promise<{ relayed: true } | { relayed: false; reason: string } | undefined> {
    const row = await this.store.prisma.session.findFirst({
      where: { id, state: { not: 'closed' } },
      select: SESSION_COLUMNS,
    });
    if (!row) return undefined;
    const stale = new Date(Date.now() - this.settings.replicaLivenessMs);
    if (row.replicaId && (await this.liveReplicas(stale)).includes(row.replicaId)) return { relayed: true };
    const reason = `${lostReason(row.replicaId)}; closed by ${requestedBy}`;
    await this.close(row, reason);
    return { relayed: false, reason };
  }

  private async liveReplicas(stale: Date): Promise<string[]> {
    // The embedded store has one replica (its data directory is locked): any other replica named
    // in it is an earlier run of this gateway, gone.
    if (this.store.kind === 'pglite') return [this.replica.id];
    const rows = await this.store.prisma.replicaHeartbeat.findMany({
      where: { lastSeenAt: { gte: stale } },
      select: { id: true },
    });
    // This replica is alive whatever its row says (a heartbeat write may have failed).
    return [this.replica.id, ...rows.map((row) => row.id)];
  }

  private async close(row: SessionRow, reason: string): Promise<boolean> {
    const { count } = await this.store.prisma.session.updateMany({
      where: { id: row.id, state: { not: 'closed' } },
      data: { state: 'closed', closeReason: reason.slice(0, 500), endedAt: new Date() },
    });
    if (count !== 1) return false;
    await this.audit.closed(
      {
        sessionId: row.id,
        subject: row.subject,
        actorChain: Array.isArray(row.actorChain) ? (row.actorChain as { subject: string }[]) : [],
        connection: { name: row.connectionName, protocol: row.protocol },
        policyVersion: row.policyVersion,
      },
      'lost',
      reason,
    );
    return true;
  }
}

function lostReason(replicaId: string | null): string {
  return replicaId
    ? `lost: the gateway replica relaying it (${replicaId}) stopped`
    : 'lost: the gateway relaying it stopped';
}

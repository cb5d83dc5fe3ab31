import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { StoreService } from '../store/store.service';
import { GatewayReplica } from './gateway-replica';
import { LostSessions } from './lost-sessions';
import { TunnelLogger } from './tunnel-logger';
import { TunnelSettings } from './tunnel-settings';

/**
 * This replica's heartbeat row (four beats per liveness window), and the sweep that closes, as
 * lost, the sessions of replicas whose heartbeat stopped (SIGKILL, a crashed host, a partition):
 * nobody relays them any more, so they are over. A replica that starts sweeps at once, so the
 * sessions of the process it replaces close as soon as that one's window has passed.
 */
@Injectable()
export class ReplicaHeartbeat implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly store: StoreService,
    private readonly replica: GatewayReplica,
    private readonly lost: LostSessions,
    private readonly settings: TunnelSettings,
    private readonly logger: TunnelLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Beat before any session can name this replica, so no survivor takes it for a dead one.
    await this.beat();
    void this.sweep();
    this.timer = setInterval(() => void this.tick(), Math.max(250, this.settings.replicaLivenessMs / 4));
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.beat();
      await this.sweep();
    } finally {
      this.running = false;
    }
  }

  private async beat(): Promise<void> {
    const now = new Date();
    try {
      await this.store.prisma.replicaHeartbeat.upsert({
        where: { id: this.replica.id },
        create: { id: this.replica.id, lastSeenAt: now },
        update: { lastSeenAt: now },
      });
    } catch (error) {
      this.logger.log.warn({ err: error }, 'could not record this replica heartbeat');
    }
  }

  private async sweep(): Promise<void> {
    try {
      const closed = await this.lost.sweep();
      if (closed > 0) this.logger.log.info({ closed }, 'closed sessions whose gateway stopped relaying them');
    } catch (error) {
      this.logger.log.warn({ err: error }, 'could not look for lost sessions');
    }
  }
}

import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { StoreService } from '../store/store.service';
import { AgentRegistry } from './agent-registry';
import { TunnelLogger } from './tunnel-logger';

/** How often the live agents' tokens are re-checked in the store. */
export const TOKEN_WATCH_INTERVAL_MS = 500;

/**
 * Revocation through this replica's API cuts streams at once; a token revoked through another
 * replica, or one that just expired, is noticed here: every half second the tokens behind this
 * replica's live streams are re-read (one indexed query, only while agents are connected).
 */
@Injectable()
export class TokenRevocationWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly store: StoreService,
    private readonly registry: AgentRegistry,
    private readonly logger: TunnelLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.check(), TOKEN_WATCH_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async check(): Promise<void> {
    const live = this.registry.all().map((agent) => agent.identity.tokenId);
    if (live.length === 0 || this.running) return;
    this.running = true;
    try {
      const invalid = await this.store.prisma.agentToken.findMany({
        where: {
          id: { in: live },
          OR: [{ revokedAt: { not: null } }, { expiresAt: { lte: new Date() } }],
        },
        select: { id: true },
      });
      if (invalid.length > 0) {
        this.registry.cutTokens(
          invalid.map((t) => t.id),
          'agent token revoked or expired',
        );
      }
    } catch (error) {
      this.logger.log.warn({ err: error }, 'could not re-check agent tokens');
    } finally {
      this.running = false;
    }
  }
}

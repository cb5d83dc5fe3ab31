import { Injectable } from '@nestjs/common';
import type { Principal } from '../identity/principal';
import { StoreService } from '../store/store.service';
import { TunnelLogger } from './tunnel-logger';

export interface NewSession {
  readonly id: string;
  readonly connectionId: string;
  readonly connectionName: string;
  readonly protocol: 'postgres' | 'mysql' | 'ssh' | 'kubernetes' | 'http' | 'tcp';
  readonly principal: Principal;
  readonly clientAddr: string;
  readonly policyVersion: number | null;
}

/** The session's row: opening → open → closed, with the reason it ended. */
@Injectable()
export class SessionRecords {
  constructor(
    private readonly store: StoreService,
    private readonly logger: TunnelLogger,
  ) {}

  /** Insert in flight per session; later updates queue behind it. */
  private readonly inserts = new Map<string, Promise<unknown>>();

  opening(session: NewSession): void {
    const insert = this.store.prisma.session.create({
      data: {
        id: session.id,
        connectionId: session.connectionId,
        connectionName: session.connectionName,
        protocol: session.protocol,
        subject: session.principal.subject,
        actorChain: session.principal.actorChain.map((actor) => ({ subject: actor.subject })),
        clientAddr: session.clientAddr,
        policyVersion: session.policyVersion,
        state: 'opening',
      },
    });
    this.inserts.set(session.id, insert);
    this.quietly(insert);
  }

  opened(id: string, agentId: string): void {
    this.after(id, () =>
      this.store.prisma.session.update({ where: { id }, data: { state: 'open', agentId } }),
    );
  }

  closed(id: string, reason: string): void {
    this.after(id, () =>
      this.store.prisma.session.update({
        where: { id },
        data: { state: 'closed', closeReason: reason.slice(0, 500), endedAt: new Date() },
      }),
    );
    this.inserts.delete(id);
  }

  private after(id: string, update: () => Promise<unknown>): void {
    const previous = this.inserts.get(id) ?? Promise.resolve();
    const next = previous.then(update, () => undefined);
    this.inserts.set(id, next);
    this.quietly(next);
  }

  private quietly(write: Promise<unknown>): void {
    write.catch((error: unknown) => this.logger.log.warn({ err: error }, 'could not record session state'));
  }
}

import { Injectable } from '@nestjs/common';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { RelayedFrame, SessionDown, SessionUp } from '@tollgate/proto';

/** An agent's Session stream; data frames cross it as RelayedFrame (see AgentTunnelRelayWire). */
export type AgentSessionCall = ServerDuplexStream<SessionUp | RelayedFrame, SessionDown | RelayedFrame>;

export type OfferOutcome =
  | { readonly kind: 'attached'; readonly call: AgentSessionCall }
  | { readonly kind: 'refused'; readonly message: string };

export type AttachOutcome =
  | { readonly kind: 'attached' }
  | { readonly kind: 'offered-to-another'; readonly agentId: string }
  | { readonly kind: 'unknown' };

interface Pending {
  readonly agentId: string;
  settle(outcome: OfferOutcome): void;
}

/**
 * Sessions offered to an agent (OpenSession) and not yet attached. Only the agent a session was
 * offered to can attach to it.
 */
@Injectable()
export class PendingSessions {
  private readonly pending = new Map<string, Pending>();

  /** Waits for the agent to attach (or refuse, or go away, or time out). */
  wait(sessionId: string, agentId: string, timeoutMs: number): Promise<OfferOutcome> {
    return new Promise<OfferOutcome>((resolve) => {
      const timer = setTimeout(
        () => settle({ kind: 'refused', message: `no answer within ${timeoutMs} ms` }),
        timeoutMs,
      );
      const settle = (outcome: OfferOutcome) => {
        clearTimeout(timer);
        this.pending.delete(sessionId);
        resolve(outcome);
      };
      this.pending.set(sessionId, { agentId, settle });
    });
  }

  /**
   * Attaches `call` to the session if it was offered to `agentId`; otherwise says whether it is
   * waiting for another agent (whose id is returned) or not waiting here at all.
   */
  attach(sessionId: string, agentId: string, call: AgentSessionCall): AttachOutcome {
    const entry = this.pending.get(sessionId);
    if (!entry) return { kind: 'unknown' };
    if (entry.agentId !== agentId) return { kind: 'offered-to-another', agentId: entry.agentId };
    entry.settle({ kind: 'attached', call });
    return { kind: 'attached' };
  }

  refuse(sessionId: string, agentId: string, message: string): void {
    const entry = this.pending.get(sessionId);
    if (entry?.agentId === agentId) entry.settle({ kind: 'refused', message });
  }

  agentGone(agentId: string): void {
    for (const entry of [...this.pending.values()]) {
      if (entry.agentId === agentId) entry.settle({ kind: 'refused', message: 'the agent disconnected' });
    }
  }
}

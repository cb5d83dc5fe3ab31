import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { CloseCode, ControlErrorCode } from '@tollgate/proto';
import { StoreService } from '../store/store.service';
import { AgentRegistry } from './agent-registry';
import { GatewayReplica } from './gateway-replica';
import type { LiveAgent } from './live-agent';
import { TunnelLogger } from './tunnel-logger';

/** The token id of a session opened with an SSH key (see SshKeysService.authenticate). */
const SSH_KEY_MARK = 'sshkey:';

// The watch's reads, over the raw driver as prepared statements: they run twice a second while
// anything is relayed, and Prisma costs about half a millisecond of CPU per query.
const AGENT_TOKENS_STATEMENT = 'tollgate_watch_agent_tokens_v1';
const AGENT_TOKENS_SQL = `SELECT t.id::text AS id,
       (t.revoked_at IS NOT NULL OR (t.expires_at IS NOT NULL AND t.expires_at <= $2::timestamptz)) AS invalid,
       a.connected_to, a.instance_id
  FROM agent_tokens t JOIN agents a ON a.id = t.agent_id
 WHERE t.id = ANY($1::uuid[])`;
type AgentTokenRow = {
  readonly id: string;
  /** Revoked, or expired when the read began. */
  readonly invalid: boolean;
  readonly connected_to: string | null;
  readonly instance_id: string | null;
};
const REVOKED_GRANTS_STATEMENT = 'tollgate_watch_revoked_grants_v1';
const REVOKED_GRANTS_SQL =
  'SELECT jti FROM token_grants WHERE jti = ANY($1::text[]) AND revoked_at IS NOT NULL';
const SSH_KEYS_STATEMENT = 'tollgate_watch_ssh_keys_v1';
const SSH_KEYS_SQL = 'SELECT id::text AS id FROM ssh_keys WHERE id = ANY($1::uuid[])';
const KILLS_STATEMENT = 'tollgate_watch_kills_v1';
const KILLS_SQL = `SELECT id::text AS id, kill_requested_by FROM sessions
 WHERE kill_requested_at IS NOT NULL AND state <> 'closed'`;

/** How often what this replica's live streams depend on is re-read from the store. */
export const LIVE_STREAMS_WATCH_INTERVAL_MS = 500;

/**
 * What is decided through one replica's API takes effect on the spot there, and within half a
 * second on every other replica: every 500 ms (only while this replica relays anything) it re-reads
 * the tokens behind its live agent streams (revoked, expired or deleted with their agent: the
 * stream is cut) with the agent's presence (another replica admitted another stream of the agent:
 * this one is superseded), and the kill requests for sessions not yet closed (a session it relays
 * is ended). Indexed queries, a few per tick.
 */
@Injectable()
export class LiveStreamsWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Sessions this replica has ended on a kill request (until their close is recorded). */
  private readonly killing = new Set<string>();
  /** Sessions this replica has ended because their access token was revoked. */
  private readonly revokedEnded = new Set<string>();

  constructor(
    private readonly store: StoreService,
    private readonly registry: AgentRegistry,
    private readonly replica: GatewayReplica,
    private readonly logger: TunnelLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.check(), LIVE_STREAMS_WATCH_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async check(): Promise<void> {
    const agents = this.registry.all();
    if (agents.length === 0 || this.running) return;
    this.running = true;
    try {
      await Promise.all([this.checkAgentStreams(agents), this.checkKills(), this.checkSessionTokens()]);
    } finally {
      this.running = false;
    }
  }

  private async checkAgentStreams(live: readonly LiveAgent[]): Promise<void> {
    // Streams admitted after the read began are judged at the next tick (their claim may be newer
    // than what the read returns).
    const readAt = Date.now();
    try {
      const tokens = await this.store.sql.query<AgentTokenRow>(
        AGENT_TOKENS_SQL,
        [live.map((agent) => agent.identity.tokenId), new Date(readAt).toISOString()],
        { name: AGENT_TOKENS_STATEMENT },
      );
      const byId = new Map(tokens.map((token) => [token.id, token]));
      const invalid: string[] = [];
      for (const agent of live) {
        if (agent.isGone || agent.connectedAt.getTime() >= readAt) continue;
        const token = byId.get(agent.identity.tokenId);
        if (!token || token.invalid) {
          invalid.push(agent.identity.tokenId);
          continue;
        }
        if (token.connected_to !== this.replica.id || token.instance_id !== agent.instance.instanceId) {
          this.logger.log.warn(
            { agent: agent.name, instance: agent.instance.instanceId, holder: token.instance_id },
            'another stream of this agent was admitted (this one went quiet); closing this one',
          );
          this.registry.remove(agent);
          agent.close(
            ControlErrorCode.SUPERSEDED,
            'another stream of this agent was admitted after this one missed its heartbeats',
            GrpcStatus.ABORTED,
          );
        }
      }
      if (invalid.length > 0) this.registry.cutTokens(invalid, 'agent token revoked or expired');
    } catch (error) {
      this.logger.log.warn({ err: error }, 'could not re-check agent tokens');
    }
  }

  /**
   * Sessions opened with an access token that has since been revoked (directly, or through the
   * token it was exchanged from, or its login) end: revocation cuts live access, not only new
   * requests.
   */
  private async checkSessionTokens(): Promise<void> {
    const bySession = new Map<string, { jti: string; abort: (reason: string, code?: CloseCode) => void }>();
    for (const agent of this.registry.all()) {
      for (const [sessionId, jti] of agent.sessionTokens) {
        const abort = agent.sessions.get(sessionId);
        if (abort && !this.revokedEnded.has(sessionId)) bySession.set(sessionId, { jti, abort });
      }
    }
    // Forget sessions ended earlier once their relay is gone.
    for (const id of this.revokedEnded) {
      if (!this.registry.all().some((agent) => agent.sessions.has(id))) this.revokedEnded.delete(id);
    }
    if (bySession.size === 0) return;
    try {
      const jtis = [...new Set([...bySession.values()].map((s) => s.jti))];
      const revoked = await this.store.sql.query<{ jti: string }>(REVOKED_GRANTS_SQL, [jtis], {
        name: REVOKED_GRANTS_STATEMENT,
      });
      const gone = new Set(revoked.map((r) => r.jti));
      // Sessions logged in with an SSH key (`sshkey:<id>`) end when the key is removed.
      const keyIds = jtis
        .filter((jti) => jti.startsWith(SSH_KEY_MARK))
        .map((jti) => jti.slice(SSH_KEY_MARK.length));
      if (keyIds.length > 0) {
        const kept = await this.store.sql.query<{ id: string }>(SSH_KEYS_SQL, [keyIds], {
          name: SSH_KEYS_STATEMENT,
        });
        const live = new Set(kept.map((key) => key.id));
        for (const id of keyIds) if (!live.has(id)) gone.add(`${SSH_KEY_MARK}${id}`);
      }
      if (gone.size === 0) return;
      for (const [sessionId, session] of bySession) {
        if (!gone.has(session.jti)) continue;
        this.killing.add(sessionId);
        this.logger.log.info(
          { sessionId, tokenId: session.jti },
          'session ended: its credential was revoked',
        );
        session.abort(
          session.jti.startsWith(SSH_KEY_MARK)
            ? 'the SSH key this session logged in with was removed'
            : 'the access token of this session was revoked',
          CloseCode.CREDENTIAL_EXPIRED,
        );
      }
    } catch (error) {
      this.logger.log.warn({ err: error }, 'could not re-check the access tokens of live sessions');
    }
  }

  private async checkKills(): Promise<void> {
    if (!this.registry.all().some((agent) => agent.sessions.size > 0)) return;
    try {
      const killed = (
        await this.store.sql.query<{ id: string; kill_requested_by: string | null }>(KILLS_SQL, [], {
          name: KILLS_STATEMENT,
        })
      ).map((row) => ({ id: row.id, killRequestedBy: row.kill_requested_by }));
      const pending = new Set(killed.map((session) => session.id));
      for (const id of this.killing) if (!pending.has(id)) this.killing.delete(id);
      for (const session of killed) {
        for (const agent of this.registry.all()) {
          const abort = agent.sessions.get(session.id);
          // Ended once; its close is on the way to the store.
          if (!abort || this.killing.has(session.id)) continue;
          this.killing.add(session.id);
          this.logger.log.info(
            { sessionId: session.id, by: session.killRequestedBy },
            'session killed through another replica',
          );
          abort(`killed by ${session.killRequestedBy ?? 'an administrator'}`, CloseCode.TERMINATED);
        }
      }
    } catch (error) {
      this.logger.log.warn({ err: error }, 'could not re-check session kill requests');
    }
  }
}

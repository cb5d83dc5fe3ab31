import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { CloseCode, ControlErrorCode } from '@tollgate/proto';
import { StoreService } from '../store/store.service';
import { AgentRegistry } from './agent-registry';
import { GatewayReplica } from './gateway-replica';
import type { LiveAgent, SessionCredential } from './live-agent';
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
// A session's token and its whole ancestry (the tokens it was exchanged from and obtained with as
// the actor token, transitively): a revocation that raced the mint of a descendant leaves the
// descendant's own row unrevoked, so its ancestors are read too.
const GRANT_ANCESTRY_STATEMENT = 'tollgate_watch_grant_ancestry_v1';
const GRANT_ANCESTRY_SQL = `WITH RECURSIVE chain AS (
  SELECT g.jti AS origin, g.jti, g.parent_jti, g.actor_token_id, g.revoked_at, 0 AS depth
    FROM token_grants g WHERE g.jti = ANY($1::text[])
  UNION
  SELECT c.origin, g.jti, g.parent_jti, g.actor_token_id, g.revoked_at, c.depth + 1
    FROM token_grants g JOIN chain c ON g.jti = c.parent_jti OR g.jti = c.actor_token_id
   WHERE c.depth < 64
)
SELECT origin, jti, parent_jti, actor_token_id, (revoked_at IS NOT NULL) AS revoked FROM chain`;
type AncestryRow = {
  readonly origin: string;
  readonly jti: string;
  readonly parent_jti: string | null;
  readonly actor_token_id: string | null;
  readonly revoked: boolean;
};
const LIVE_API_KEYS_STATEMENT = 'tollgate_watch_api_keys_v2';
// Keys not returned are deleted; an expiry at or before the read (its time, $2) has passed.
const LIVE_API_KEYS_SQL = `SELECT prefix, revoked_at IS NOT NULL AS revoked,
       (expires_at IS NOT NULL AND expires_at <= $2::timestamptz) AS expired
  FROM api_keys WHERE prefix = ANY($1::text[])`;
const ENABLED_USERS_STATEMENT = 'tollgate_watch_enabled_users_v1';
const ENABLED_USERS_SQL = 'SELECT id::text AS id FROM users WHERE id = ANY($1::uuid[]) AND NOT disabled';
const ENABLED_ACCOUNTS_STATEMENT = 'tollgate_watch_enabled_accounts_v1';
const ENABLED_ACCOUNTS_SQL =
  'SELECT name FROM service_accounts WHERE name = ANY($1::text[]) AND NOT disabled';
const API_KEY_MARK = 'apikey:';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
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
   * Sessions whose credential no longer stands end: the access token revoked (directly, through any
   * token it was exchanged from or obtained with as the actor token, transitively, or its login), the
   * API key or connection credential it was opened or derived with revoked or expired, the SSH key it logged in
   * with removed, or its subject or any actor of its chain disabled or deleted. Revocation and
   * disabling cut live access, not only new requests. What cannot be checked (an ancestor not on
   * record) ends the session too.
   */
  private async checkSessionTokens(): Promise<void> {
    const bySession = new Map<
      string,
      { credential: SessionCredential; abort: (reason: string, code?: CloseCode) => void }
    >();
    for (const agent of this.registry.all()) {
      for (const [sessionId, credential] of agent.sessionTokens) {
        const abort = agent.sessions.get(sessionId);
        if (abort && !this.revokedEnded.has(sessionId)) bySession.set(sessionId, { credential, abort });
      }
    }
    // Forget sessions ended earlier once their relay is gone.
    for (const id of this.revokedEnded) {
      if (!this.registry.all().some((agent) => agent.sessions.has(id))) this.revokedEnded.delete(id);
    }
    if (bySession.size === 0) return;
    try {
      const credentials = [...bySession.values()].map((s) => s.credential);
      const [tokens, subjects] = await Promise.all([
        this.endedTokens(credentials.map((c) => c.tokenId)),
        this.endedSubjects(credentials.flatMap((c) => c.subjects)),
      ]);
      for (const [sessionId, { credential, abort }] of bySession) {
        const [subject, ...actors] = credential.subjects;
        const gone = credential.subjects.find((who) => subjects.has(who));
        const reason =
          tokens.get(credential.tokenId) ??
          (gone === undefined
            ? undefined
            : gone === subject && !actors.includes(gone)
              ? `its subject ${gone} was disabled or deleted`
              : `${gone}, acting in its chain, was disabled or deleted`);
        if (reason === undefined) continue;
        this.revokedEnded.add(sessionId);
        this.logger.log.info(
          { sessionId, tokenId: credential.tokenId, reason },
          'session ended: its credential no longer stands',
        );
        abort(reason, CloseCode.CREDENTIAL_EXPIRED);
      }
    } catch (error) {
      this.logger.log.warn({ err: error }, 'could not re-check the credentials of live sessions');
    }
  }

  /** Token ids (jti, `apikey:`, `sshkey:`) whose sessions must end, with the reason the client hears. */
  private async endedTokens(tokenIds: readonly string[]): Promise<Map<string, string>> {
    const ended = new Map<string, string>();
    const ids = [...new Set(tokenIds)];
    const jtis = ids.filter((id) => !id.startsWith(API_KEY_MARK) && !id.startsWith(SSH_KEY_MARK));
    // API keys: those sessions were opened with, and those their tokens were derived with.
    const keyUsers = new Map<string, Set<string>>();
    const needsKey = (prefix: string, tokenId: string) => {
      const users = keyUsers.get(prefix) ?? new Set<string>();
      users.add(tokenId);
      keyUsers.set(prefix, users);
    };
    for (const id of ids) if (id.startsWith(API_KEY_MARK)) needsKey(id.slice(API_KEY_MARK.length), id);

    if (jtis.length > 0) {
      const rows = await this.store.sql.query<AncestryRow>(GRANT_ANCESTRY_SQL, [jtis], {
        name: GRANT_ANCESTRY_STATEMENT,
      });
      const byOrigin = new Map<string, AncestryRow[]>();
      for (const row of rows) byOrigin.set(row.origin, [...(byOrigin.get(row.origin) ?? []), row]);
      for (const jti of jtis) {
        const chain = byOrigin.get(jti) ?? [];
        const found = new Set(chain.map((row) => row.jti));
        const links = chain.flatMap((row) => [row.parent_jti, row.actor_token_id]).filter((l) => l !== null);
        if (chain.length === 0 || links.some((l) => !l.startsWith(API_KEY_MARK) && !found.has(l))) {
          ended.set(
            jti,
            'the access token of this session can no longer be checked (an ancestor is not on record)',
          );
        } else if (chain.some((row) => row.revoked)) {
          ended.set(jti, 'the access token of this session was revoked');
        } else {
          for (const link of links)
            if (link.startsWith(API_KEY_MARK)) needsKey(link.slice(API_KEY_MARK.length), jti);
        }
      }
    }

    if (keyUsers.size > 0) {
      const rows = await this.store.sql.query<{ prefix: string; revoked: boolean; expired: boolean }>(
        LIVE_API_KEYS_SQL,
        [[...keyUsers.keys()], new Date().toISOString()],
        { name: LIVE_API_KEYS_STATEMENT },
      );
      const byPrefix = new Map(rows.map((row) => [row.prefix, row]));
      for (const [prefix, users] of keyUsers) {
        const key = byPrefix.get(prefix);
        if (key && !key.revoked && !key.expired) continue;
        // A connection credential's or API key's expiry ends what it opened, as revoking it does.
        const what = key?.expired && !key.revoked ? 'expired' : 'was revoked';
        for (const id of users) {
          if (ended.has(id)) continue;
          ended.set(
            id,
            id.startsWith(API_KEY_MARK)
              ? `the API key this session was opened with (${prefix}) ${what}`
              : `the API key its access token was obtained with (${prefix}) ${what}`,
          );
        }
      }
    }

    // Sessions logged in with an SSH key (`sshkey:<id>`) end when the key is removed.
    const keyIds = ids.filter((id) => id.startsWith(SSH_KEY_MARK)).map((id) => id.slice(SSH_KEY_MARK.length));
    if (keyIds.length > 0) {
      const kept = await this.store.sql.query<{ id: string }>(SSH_KEYS_SQL, [keyIds], {
        name: SSH_KEYS_STATEMENT,
      });
      const live = new Set(kept.map((key) => key.id));
      for (const id of keyIds) {
        if (!live.has(id))
          ended.set(`${SSH_KEY_MARK}${id}`, 'the SSH key this session logged in with was removed');
      }
    }
    return ended;
  }

  /** Subjects (`user:<id>`, `sa:<name>`) that are disabled, deleted or of no kind the store knows. */
  private async endedSubjects(subjects: readonly string[]): Promise<Set<string>> {
    const all = [...new Set(subjects)];
    const userIds = all.filter((s) => s.startsWith('user:')).map((s) => s.slice('user:'.length));
    const accounts = all.filter((s) => s.startsWith('sa:')).map((s) => s.slice('sa:'.length));
    const [users, serviceAccounts] = await Promise.all([
      userIds.some((id) => UUID.test(id))
        ? this.store.sql.query<{ id: string }>(ENABLED_USERS_SQL, [userIds.filter((id) => UUID.test(id))], {
            name: ENABLED_USERS_STATEMENT,
          })
        : [],
      accounts.length > 0
        ? this.store.sql.query<{ name: string }>(ENABLED_ACCOUNTS_SQL, [accounts], {
            name: ENABLED_ACCOUNTS_STATEMENT,
          })
        : [],
    ]);
    const enabled = new Set([
      ...users.map((row) => `user:${row.id}`),
      ...serviceAccounts.map((row) => `sa:${row.name}`),
    ]);
    return new Set(all.filter((s) => !enabled.has(s)));
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

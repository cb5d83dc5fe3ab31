import { Injectable } from '@nestjs/common';
import type { CommandEvent, CommandResultEvent } from '@tollgate/audit';
import type { JournalDown, JournalRecord, JournalUp } from '@tollgate/proto';
import { SessionAuditService, type SessionAuditContext } from '../audit/session-audit.service';
import { StoreService } from '../store/store.service';
import type { LiveAgent } from './live-agent';
import { SessionRecords } from './session-records';
import { TunnelLogger } from './tunnel-logger';

const CHAIN_ID = /^[A-Za-z0-9-]{8,64}$/;
const MAX_CACHED = 10_000;

/** Records of a chain already in the store, among the sessions a batch names (dedupe after a restart). */
const STORED_SEQS_SQL = `SELECT (payload->'journal'->>'seq')::bigint AS seq FROM session_events
  WHERE session_id = ANY($1::uuid[]) AND payload->'journal'->>'chain' = $2`;

class JournalRefused extends Error {}

/**
 * The gateway's half of the edge audit mode: takes the records an agent ships from its journal,
 * stores each once (by chain and sequence number: a resend after a lost ack or an agent restart is
 * acknowledged again, not stored twice) on the session's chain and the global chain, and
 * acknowledges how far the chain is durable. Records are stored as the agent chained them, even
 * when their hashes do not verify: `audit verify` recomputes every agent chain and names the first
 * bad record, so a tampered journal is evidence, not a stuck agent.
 */
@Injectable()
export class AgentJournalIntake {
  /**
   * `agentId/chain` → the highest seq of an unbroken prefix known durable in the store, and whether
   * that is all the store holds of it (false after a failed batch, part of which may have landed).
   */
  private readonly stored = new Map<string, { seq: number; verified: boolean }>();
  private readonly sessions = new Map<string, { agentId: string | null; context: SessionAuditContext }>();

  constructor(
    private readonly audit: SessionAuditService,
    private readonly store: StoreService,
    private readonly logger: TunnelLogger,
    private readonly records: SessionRecords,
  ) {}

  async ingest(agent: LiveAgent, batch: JournalUp): Promise<JournalDown> {
    const key = `${agent.agentId}/${batch.chain}`;
    const records = [...batch.records].sort((a, b) => a.seq - b.seq);
    const last = records.at(-1)?.seq ?? 0;
    const state = this.stored.get(key);
    const known = state?.seq ?? 0;
    try {
      if (!CHAIN_ID.test(batch.chain)) throw new JournalRefused('not a journal chain id');
      const parsed = records.map((record) => ({ record, event: parseEvent(record) }));
      let fresh = parsed.filter((p) => p.record.seq > known);
      // An acknowledgement covers everything up to its seq, so records must follow on from what is
      // stored here: after a refused batch, the next one in flight is refused too (not stored over
      // the gap) and the agent sends again from the gap.
      const first = fresh[0]?.record.seq;
      if (state && first !== undefined && first !== known + 1) {
        throw new JournalRefused(`records from ${known + 1} are missing here; send from there`);
      }
      if (fresh.length > 0 && !state?.verified) {
        // First batch of this chain here, or after a failure: the store may hold some of it (an
        // earlier stream, a restarted gateway, part of a failed batch). Only the sessions this
        // batch names can hold them.
        const ids = [...new Set(fresh.map((p) => p.event.sessionId))];
        const rows = await this.store.sql.query<{ seq: string | number }>(STORED_SEQS_SQL, [
          ids,
          batch.chain,
        ]);
        const have = new Set(rows.map((r) => Number(r.seq)));
        fresh = fresh.filter((p) => !have.has(p.record.seq));
      }
      const writes: Promise<unknown>[] = [];
      for (const { record, event } of fresh) {
        const context = await this.sessionOf(agent, event.sessionId);
        writes.push(
          this.audit.journaled(context, event, {
            agent: agent.name,
            chain: batch.chain,
            seq: record.seq,
            prevHash: record.prevHash,
            hash: record.hash,
          }),
        );
      }
      await Promise.all(writes);
      const through = Math.max(known, last);
      this.remember(key, { seq: through, verified: true });
      return { chain: batch.chain, seq: through, error: '' };
    } catch (error) {
      // Part of the batch may be stored: the next attempt asks the store again what it holds.
      if (state) this.remember(key, { seq: known, verified: false });
      const message =
        error instanceof JournalRefused ? error.message : 'the audit store could not record the records';
      if (!(error instanceof JournalRefused && message.includes('are missing here'))) {
        this.logger.log.error(
          { err: error, agent: agent.name, chain: batch.chain, from: records[0]?.seq, to: last },
          'journal records not stored',
        );
      }
      return { chain: batch.chain, seq: known, error: message };
    }
  }

  private remember(key: string, state: { seq: number; verified: boolean }): void {
    if (this.stored.size >= MAX_CACHED && !this.stored.has(key)) this.stored.clear();
    this.stored.set(key, state);
  }

  /** The session as the gateway recorded it at open; it must be one this agent served. */
  private async sessionOf(agent: LiveAgent, sessionId: string): Promise<SessionAuditContext> {
    const live = this.records.context(sessionId);
    const servedHere = this.records.agentOf(sessionId);
    if (live && servedHere !== undefined) {
      if (servedHere !== agent.agentId) throw notServed(sessionId, agent);
      return live;
    }
    let entry = this.sessions.get(sessionId);
    if (!entry) {
      const row = await this.store.prisma.session.findUnique({
        where: { id: sessionId },
        select: {
          agentId: true,
          subject: true,
          actorChain: true,
          connectionName: true,
          protocol: true,
          policyVersion: true,
        },
      });
      if (!row) throw new JournalRefused(`no session ${sessionId}`);
      entry = {
        agentId: row.agentId ?? servedHere ?? null,
        context: {
          sessionId,
          subject: row.subject,
          actorChain: (row.actorChain as { subject: string }[] | null) ?? [],
          connection: { name: row.connectionName, protocol: row.protocol.toLowerCase() },
          policyVersion: row.policyVersion,
        },
      };
      // A row whose agent is not written yet is asked again next time.
      if (entry.agentId !== null) {
        if (this.sessions.size >= MAX_CACHED) this.sessions.clear();
        this.sessions.set(sessionId, entry);
      }
    }
    if (entry.agentId !== agent.agentId) throw notServed(sessionId, agent);
    return entry.context;
  }
}

function notServed(sessionId: string, agent: LiveAgent): JournalRefused {
  return new JournalRefused(`session ${sessionId} was not served by agent "${agent.name}"`);
}

function parseEvent(record: JournalRecord): CommandEvent | CommandResultEvent {
  let event: unknown;
  try {
    event = JSON.parse(record.event);
  } catch {
    throw new JournalRefused(`record ${record.seq} is not JSON`);
  }
  const e = event as { type?: unknown; sessionId?: unknown };
  if ((e.type !== 'command' && e.type !== 'command.result') || typeof e.sessionId !== 'string') {
    throw new JournalRefused(`record ${record.seq} is not a command event`);
  }
  if (!/^[0-9a-f-]{36}$/i.test(e.sessionId)) throw new JournalRefused(`record ${record.seq}: bad session id`);
  return event as CommandEvent | CommandResultEvent;
}

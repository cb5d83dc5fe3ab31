import { createHash } from 'node:crypto';
import { Injectable, Optional } from '@nestjs/common';
import type { CommandEvent, CommandResultEvent } from '@tollgate/audit';
import type { JournalDown, JournalRecord, JournalUp } from '@tollgate/proto';
import { AuditWriter } from '../audit/audit-writer';
import { SessionAuditService, type SessionAuditContext } from '../audit/session-audit.service';
import { MetricsService } from '../metrics/metrics.service';
import { StoreService } from '../store/store.service';
import type { LiveAgent } from './live-agent';
import { JournalProgress } from './journal-progress';
import { SessionRecords } from './session-records';
import { TunnelLogger } from './tunnel-logger';

const CHAIN_ID = /^[A-Za-z0-9-]{8,64}$/;
const MAX_CACHED = 10_000;
/**
 * A record refused for a reason that can pass (its session's row does not name its agent yet) is
 * refused this many times, each time with the agent retrying, before it is quarantined.
 */
export const TRANSIENT_ATTEMPTS = 3;

/**
 * Records of a chain already in the store, among the sessions a batch names (dedupe after a
 * restart), and those already quarantined (with their audit record written).
 */
const STORED_SEQS_SQL = `SELECT (payload->'journal'->>'seq')::bigint AS seq FROM session_events
  WHERE session_id = ANY($1::uuid[]) AND payload->'journal'->>'chain' = $2
  UNION ALL
  SELECT seq::bigint FROM journal_quarantine
  WHERE agent_id = $3 AND chain = $2 AND audit_seq IS NOT NULL AND seq BETWEEN $4 AND $5`;

/** The batch as a whole cannot be taken (not one of its records). */
class JournalRefused extends Error {}

/**
 * One record cannot be stored as an event. `final`: it never will be (it is not an event, carries
 * what the store refuses, names a session another agent served); otherwise it may on a later try.
 */
class RecordProblem extends Error {
  constructor(
    message: string,
    readonly final: boolean,
  ) {
    super(message);
  }
}

interface Prepared {
  readonly record: JournalRecord;
  readonly event?: CommandEvent | CommandResultEvent;
  readonly context?: SessionAuditContext;
  readonly problem?: RecordProblem;
}

/**
 * The gateway's half of the edge audit mode: takes the records an agent ships from its journal,
 * stores each once (by chain and sequence number: a resend after a lost ack or an agent restart is
 * acknowledged again, not stored twice) on the session's chain and the global chain, and
 * acknowledges how far the chain is durable. Records are stored as the agent chained them, even
 * when their hashes do not verify: `audit verify` recomputes every agent chain and names the first
 * bad record, so a tampered journal is evidence, not a stuck agent.
 *
 * One record that cannot be stored as an event (a poison record: not a command event, a string the
 * store refuses such as NUL, a session this agent did not serve, or a write the store refuses twice
 * on its own) does not wedge the agent: it is quarantined (`journal_quarantine`: its bytes exactly
 * as the agent hashed them and its place in the chain, so `audit verify` still checks the chain
 * across it and lists it), a `journal.rejected` record goes on the global chain, the error is
 * logged and counted (`tollgate_journal_records_quarantined_total`), and the batch is acknowledged.
 * Fail closed still holds: a record is acknowledged only once it is stored as an event or
 * quarantined; when the store cannot take even the quarantine (it is down), nothing past the last
 * stored record is acknowledged and the agent keeps it.
 */
@Injectable()
export class AgentJournalIntake {
  /**
   * `agentId/chain` → the highest seq of an unbroken prefix known durable in the store, and whether
   * that is all the store holds of it (false after a failed batch, part of which may have landed).
   */
  private readonly stored = new Map<string, { seq: number; verified: boolean }>();
  private readonly sessions = new Map<string, { agentId: string | null; context: SessionAuditContext }>();
  /** `agentId/chain#seq` → how many times the record was refused for a reason that may pass. */
  private readonly attempts = new Map<string, number>();

  constructor(
    private readonly audit: SessionAuditService,
    private readonly writer: AuditWriter,
    private readonly store: StoreService,
    private readonly logger: TunnelLogger,
    private readonly records: SessionRecords,
    private readonly progress: JournalProgress,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  async ingest(agent: LiveAgent, batch: JournalUp): Promise<JournalDown> {
    const key = `${agent.agentId}/${batch.chain}`;
    const records = [...batch.records].sort((a, b) => a.seq - b.seq);
    const last = records.at(-1)?.seq ?? 0;
    const state = this.stored.get(key);
    const known = state?.seq ?? 0;
    let through = known;
    try {
      if (!CHAIN_ID.test(batch.chain)) throw new JournalRefused('not a journal chain id');
      let fresh = records.filter((record) => record.seq > known);
      // An acknowledgement covers everything up to its seq, so records must follow on from what is
      // stored here: after a refused batch, the next one in flight is refused too (not stored over
      // the gap) and the agent sends again from the gap.
      const first = fresh[0]?.seq;
      if (state && first !== undefined && first !== known + 1) {
        throw new JournalRefused(`records from ${known + 1} are missing here; send from there`);
      }
      // First batch of this chain here, or after a failure: the store may hold some of it (an
      // earlier stream, a restarted gateway, part of a failed batch).
      if (fresh.length > 0 && !state?.verified) fresh = await this.notStored(agent, batch.chain, fresh);
      const prepared: Prepared[] = [];
      for (const record of fresh) prepared.push(await this.prepare(agent, record));

      if (prepared.every((p) => !p.problem)) {
        // Every write settles before anything is decided: a batch spans commits, and a write still
        // in flight when another failed would land after the records were looked at again.
        const settled = await Promise.allSettled(prepared.map((p) => this.write(agent, batch.chain, p)));
        const failed = prepared.filter((_, i) => settled[i].status === 'rejected');
        if (failed.length === 0) {
          for (const p of prepared) this.attempts.delete(`${key}#${p.record.seq}`);
          through = Math.max(known, last);
          this.remember(agent, batch.chain, { seq: through, verified: true });
          return { chain: batch.chain, seq: through, error: '' };
        }
        this.logger.log.warn(
          {
            err: (settled.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason,
            agent: agent.name,
            chain: batch.chain,
            from: records[0]?.seq,
            to: last,
          },
          'journal batch not stored whole: storing its other records one at a time',
        );
        // A rejected append stored nothing (its commit failed); the others are stored.
        prepared.splice(0, prepared.length, ...failed);
      }

      // One at a time, in order: each record is stored as an event or quarantined before the next.
      through = Math.max(known, (prepared[0]?.record.seq ?? last + 1) - 1);
      for (const p of prepared) {
        const attemptKey = `${key}#${p.record.seq}`;
        let problem = p.problem;
        if (problem && !problem.final) {
          const tries = (this.attempts.get(attemptKey) ?? 0) + 1;
          if (tries < TRANSIENT_ATTEMPTS) {
            if (this.attempts.size >= MAX_CACHED) this.attempts.clear();
            this.attempts.set(attemptKey, tries);
            throw new JournalRefused(`${problem.message} (try ${tries} of ${TRANSIENT_ATTEMPTS})`);
          }
        }
        if (!problem) {
          try {
            await this.write(agent, batch.chain, p);
          } catch (error) {
            // Only the store refusing the record's data (SQLSTATE class 22, 23, 54) is the record's
            // fault; anything else (the store down, a trigger, a lock) is the store's: not acknowledged.
            if (!refusesTheData(error)) throw error;
            try {
              // Alone again: a record committed beside another's poison fails with it once.
              await this.write(agent, batch.chain, p);
            } catch (again) {
              if (!refusesTheData(again)) throw again;
              problem = new RecordProblem(
                `the audit store refused record ${p.record.seq}: ${errorText(again)}`,
                true,
              );
            }
          }
        }
        if (problem) await this.quarantine(agent, batch.chain, p, problem.message);
        this.attempts.delete(attemptKey);
        through = p.record.seq;
      }
      through = Math.max(through, last);
      this.remember(agent, batch.chain, { seq: through, verified: true });
      return { chain: batch.chain, seq: through, error: '' };
    } catch (error) {
      // Part of the batch may be stored: the next attempt asks the store again what it holds. (A
      // chain not seen here before stays unseen unless some of it was acknowledged just now: the
      // agent may resume it from any point an earlier gateway acknowledged.)
      if (state || through > known) this.remember(agent, batch.chain, { seq: through, verified: false });
      const message =
        error instanceof JournalRefused ? error.message : 'the audit store could not record the records';
      if (!(error instanceof JournalRefused && message.includes('are missing here'))) {
        this.logger.log.error(
          { err: error, agent: agent.name, chain: batch.chain, from: records[0]?.seq, to: last, through },
          'journal records not stored',
        );
      }
      return { chain: batch.chain, seq: through, error: message };
    }
  }

  /** Stored through `state.seq` (durable): remembered for the next batch, and told to JournalProgress. */
  private remember(agent: LiveAgent, chain: string, state: { seq: number; verified: boolean }): void {
    const key = `${agent.agentId}/${chain}`;
    if (this.stored.size >= MAX_CACHED && !this.stored.has(key)) this.stored.clear();
    this.stored.set(key, state);
    this.progress.stored(agent.agentId, chain, state.seq);
  }

  /** The records the store holds neither as session events nor in quarantine. */
  private async notStored(
    agent: LiveAgent,
    chain: string,
    records: readonly JournalRecord[],
  ): Promise<JournalRecord[]> {
    if (records.length === 0) return [];
    // Only the sessions the batch names can hold them.
    const ids = new Set<string>();
    for (const record of records) {
      const sessionId = sessionIdOf(record);
      if (sessionId) ids.add(sessionId);
    }
    const rows = await this.store.sql.query<{ seq: string | number }>(STORED_SEQS_SQL, [
      [...ids],
      chain,
      agent.agentId,
      records[0].seq,
      records.at(-1)!.seq,
    ]);
    const have = new Set(rows.map((r) => Number(r.seq)));
    return records.filter((record) => !have.has(record.seq));
  }

  /** Reads the record and the session it names; a problem of the record is returned, not thrown. */
  private async prepare(agent: LiveAgent, record: JournalRecord): Promise<Prepared> {
    let event: CommandEvent | CommandResultEvent;
    try {
      event = parseEvent(record);
    } catch (error) {
      if (error instanceof RecordProblem) return { record, problem: error };
      throw error;
    }
    const unstorable = unstorableEventText(record.event, event);
    try {
      const context = await this.sessionOf(agent, event.sessionId);
      if (unstorable) {
        return {
          record,
          event,
          context,
          problem: new RecordProblem(`record ${record.seq}: ${unstorable}`, true),
        };
      }
      return { record, event, context };
    } catch (error) {
      if (error instanceof RecordProblem) return { record, event, problem: error };
      throw error;
    }
  }

  private write(agent: LiveAgent, chain: string, p: Prepared): Promise<unknown> {
    return this.audit.journaled(p.context!, p.event!, {
      agent: agent.name,
      chain,
      seq: p.record.seq,
      prevHash: p.record.prevHash,
      hash: p.record.hash,
    });
  }

  /**
   * Keeps the record byte for byte with its place in the chain, then records `journal.rejected`
   * on the global chain. Throws when the store cannot take it (the record is then not acknowledged).
   */
  private async quarantine(agent: LiveAgent, chain: string, p: Prepared, reason: string): Promise<void> {
    const bytes = Buffer.from(p.record.event, 'utf8');
    const sessionId = p.event?.sessionId ?? sessionIdOf(p.record);
    const row = await this.store.prisma.journalQuarantine.upsert({
      where: { agentId_chain_seq: { agentId: agent.agentId, chain, seq: p.record.seq } },
      create: {
        agentId: agent.agentId,
        agent: agent.name,
        chain,
        seq: p.record.seq,
        prevHash: p.record.prevHash,
        hash: p.record.hash,
        sessionId: sessionId ?? null,
        reason: reason.slice(0, 2000),
        bytes,
      },
      update: {},
    });
    // Under the session's subject when the record is its own; else under the agent that sent it.
    const who = p.context ?? undefined;
    const written = await this.writer.append({
      subject: who?.subject ?? `agent:${agent.name}`,
      ...(who?.actorChain.length ? { actorChain: who.actorChain } : {}),
      action: 'journal.rejected',
      target: who ? `connection:${who.connection.name}` : `agent:${agent.name}`,
      decision: 'error',
      reason: `journal record quarantined: ${reason.slice(0, 2000)}`,
      payload: {
        journal: {
          agent: agent.name,
          chain,
          seq: p.record.seq,
          prevHash: p.record.prevHash,
          hash: p.record.hash,
        },
        ...(sessionId ? { sessionId } : {}),
        quarantineId: row.id.toString(),
        bytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      },
    });
    await this.store.prisma.journalQuarantine.update({
      where: { id: row.id },
      data: { auditSeq: written.seq },
    });
    this.metrics?.journalRecordQuarantined(agent.name);
    this.logger.log.error(
      { agent: agent.name, chain, seq: p.record.seq, sessionId, quarantineId: row.id.toString(), reason },
      'journal record quarantined: it could not be stored as an event (audit verify lists it)',
    );
  }

  /** The session as the gateway recorded it at open; it must be one this agent served. */
  private async sessionOf(agent: LiveAgent, sessionId: string): Promise<SessionAuditContext> {
    // A session this replica opened (live, or closed lately: a short session's records often come
    // after its close) is known without a store read.
    const recorded = this.records.recordedContext(sessionId);
    const servedHere = this.records.agentOf(sessionId);
    if (recorded && servedHere !== undefined) {
      if (servedHere !== agent.agentId) throw notServed(sessionId, agent, true);
      return recorded;
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
      if (!row) throw new RecordProblem(`no session ${sessionId}`, false);
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
    // Another agent's session is final; a row that names no agent yet may name this one soon.
    if (entry.agentId !== agent.agentId) throw notServed(sessionId, agent, entry.agentId !== null);
    return entry.context;
  }
}

function notServed(sessionId: string, agent: LiveAgent, final: boolean): RecordProblem {
  return new RecordProblem(`session ${sessionId} was not served by agent "${agent.name}"`, final);
}

/**
 * The store refused the data itself (PostgreSQL SQLSTATE class 22 data exception, 23 integrity
 * constraint violation other than a unique key, 54 program limit exceeded), not the write: the same
 * record will be refused every time. Looked for along the error's causes.
 */
function refusesTheData(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      return code !== '23505' && /^(22|23|54)/.test(code);
    }
  }
  return false;
}

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 500);
}

/** The session id a record names, if it reads as an event with one (for dedupe and quarantine). */
function sessionIdOf(record: JournalRecord): string | undefined {
  try {
    return parseEvent(record).sessionId;
  } catch {
    return undefined;
  }
}

function parseEvent(record: JournalRecord): CommandEvent | CommandResultEvent {
  let event: unknown;
  try {
    event = JSON.parse(record.event);
  } catch {
    throw new RecordProblem(`record ${record.seq} is not JSON`, true);
  }
  const e = event as { type?: unknown; sessionId?: unknown } | null;
  if (
    typeof e !== 'object' ||
    e === null ||
    (e.type !== 'command' && e.type !== 'command.result') ||
    typeof e.sessionId !== 'string'
  ) {
    throw new RecordProblem(`record ${record.seq} is not a command event`, true);
  }
  if (!/^[0-9a-f-]{36}$/i.test(e.sessionId)) {
    throw new RecordProblem(`record ${record.seq}: bad session id`, true);
  }
  return event as CommandEvent | CommandResultEvent;
}

/**
 * What in JSON text can put a NUL or a lone surrogate into the strings it parses to: an escape
 * (`\u0000`, `\uD800`-`\uDFFF`), or the character itself (JSON.parse refuses a raw NUL, and text
 * decoded from UTF-8 holds only paired surrogates, but the check does not rely on either). Text
 * without any of them parses to strings the store takes; text with one (or what looks like one, e.g.
 * an escaped backslash before `u0000`, or an emoji) is looked at value by value.
 */
// eslint-disable-next-line no-control-regex -- a NUL is exactly what it looks for
const NUL_OR_SURROGATE = /\\u(?:0000|[dD][89abcdefABCDEF])|[\u0000\uD800-\uDFFF]/;

/** unstorableText of the event parsed from `text`, without walking it when its text says it is fine. */
export function unstorableEventText(text: string, event: unknown): string | undefined {
  return NUL_OR_SURROGATE.test(text) ? unstorableText(event) : undefined;
}

/**
 * Why the store (PostgreSQL jsonb and text) would refuse a string of the event, if it would: a NUL
 * character, or a UTF-16 surrogate that is not part of a pair.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function unstorableText(value: unknown): string | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return 'a string contains a NUL character (the store cannot hold it)';
    if (LONE_SURROGATE.test(value)) return 'a string contains an unpaired surrogate (not Unicode text)';
    return undefined;
  }
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = unstorableText(item);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      const problem = unstorableText(k) ?? unstorableText(v);
      if (problem) return problem;
    }
  }
  return undefined;
}

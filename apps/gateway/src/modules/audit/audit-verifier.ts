import { linkHashOfCanonical, verifyChain, type ChainedRecord, type ChainHead } from '@tollgate/audit';
import type { PrismaClient } from '@tollgate/store';
import { GLOBAL_AUDIT_CHAIN, type HashedAuditFields } from './audit-hash';

/** The first bad record found, named so an operator can find it in the store. */
export interface AuditFault {
  /** `global`, the session id whose chain is broken, or `agent <name> journal <chain id>`. */
  readonly chain: string;
  /** The sequence number expected at the bad position. */
  readonly seq: number;
  /** The database id of the bad row (absent when the tail is missing). */
  readonly rowId?: string;
  readonly reason: string;
  readonly detail: string;
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly global: { readonly count: number; readonly head: { seq: number; hash: string } };
  readonly sessions: { readonly checked: number; readonly events: number };
  /** Agent journal chains (edge audit mode) recomputed from the events they shipped. */
  readonly journals: { readonly checked: number; readonly events: number };
  /** Every broken chain's first bad record (global first), at most one per chain. */
  readonly faults: readonly AuditFault[];
  /**
   * Journal records the gateway could not store as events and kept in quarantine (see
   * AgentJournalIntake). Their chains are checked across them (their bytes must hash as the agent
   * chained them); each is listed here for an operator to look at, whether or not the chain is intact.
   */
  readonly quarantined: readonly QuarantinedRecord[];
}

export interface QuarantinedRecord {
  /** `agent <name> journal <chain id>`. */
  readonly chain: string;
  readonly seq: number;
  /** The id of its `journal_quarantine` row. */
  readonly rowId: string;
  readonly sessionId: string | null;
  readonly reason: string;
  /** Its bytes, as kept, hash to the record's place in the agent's chain. */
  readonly intact: boolean;
}

const PAGE = 5000;

/**
 * Checks the global chain (audit_entries) and every session chain (session_events) with
 * @tollgate/audit's verifyChain. The global records name each session record's position and hash,
 * so a session chain that lost its tail is caught too.
 */
export async function verifyAuditLog(prisma: PrismaClient): Promise<AuditVerification> {
  const faults: AuditFault[] = [];
  const sessionHeads = new Map<string, { seq: number; hash: string }>();
  let head: ChainHead = { chain: GLOBAL_AUDIT_CHAIN, seq: 0, hash: '0'.repeat(64) };
  let count = 0;
  let afterId: bigint | undefined;
  let globalBroken = false;
  for (;;) {
    const rows = await prisma.auditEntry.findMany({
      // Row id order is insertion order: a renumbered or moved record shows as reordered.
      orderBy: { id: 'asc' },
      take: PAGE,
      ...(afterId !== undefined ? { where: { id: { gt: afterId } } } : {}),
    });
    if (rows.length === 0) break;
    afterId = rows.at(-1)!.id;
    if (!globalBroken) {
      const records: ChainedRecord<HashedAuditFields>[] = rows.map((r) => ({
        chain: GLOBAL_AUDIT_CHAIN,
        seq: Number(r.seq),
        prevHash: r.prevHash,
        hash: r.hash,
        event: {
          at: r.at.toISOString(),
          subject: r.subject,
          actorChain: r.actorChain as unknown as HashedAuditFields['actorChain'],
          action: r.action,
          target: r.target,
          decision: r.decision,
          reason: r.reason,
          payload: r.payload,
        },
      }));
      const result = verifyChain(records, { from: head });
      if (!result.ok) {
        globalBroken = true;
        faults.push({
          chain: GLOBAL_AUDIT_CHAIN,
          seq: result.expectedSeq,
          ...(rows[result.firstBadIndex] ? { rowId: rows[result.firstBadIndex].id.toString() } : {}),
          reason: result.reason,
          detail: result.detail,
        });
      } else {
        head = result.head;
        count += result.count;
      }
    }
    for (const r of rows) {
      const p = r.payload as { sessionId?: unknown; sessionSeq?: unknown; sessionHash?: unknown };
      if (
        typeof p.sessionId === 'string' &&
        typeof p.sessionSeq === 'number' &&
        typeof p.sessionHash === 'string'
      )
        sessionHeads.set(p.sessionId, { seq: p.sessionSeq, hash: p.sessionHash });
    }
    if (rows.length < PAGE) break;
  }

  const sessionIds = new Set<string>(sessionHeads.keys());
  const withEvents = await prisma.sessionEvent.findMany({
    distinct: ['sessionId'],
    select: { sessionId: true },
  });
  for (const { sessionId } of withEvents) sessionIds.add(sessionId);
  let events = 0;
  const journals = new Map<string, JournalEntry[]>();
  for (const sessionId of [...sessionIds].sort()) {
    const rows = await prisma.sessionEvent.findMany({ where: { sessionId }, orderBy: { id: 'asc' } });
    events += rows.length;
    for (const r of rows) collectJournalEntry(journals, r.id, r.payload);
    const expectedHead = sessionHeads.get(sessionId);
    const result = verifyChain(
      rows.map((r) => ({
        chain: sessionId,
        seq: r.seq,
        prevHash: r.prevHash,
        hash: r.hash,
        event: r.payload,
      })),
      { from: { chain: sessionId, seq: 0, hash: '0'.repeat(64) }, ...(expectedHead ? { expectedHead } : {}) },
    );
    if (!result.ok) {
      faults.push({
        chain: sessionId,
        seq: result.expectedSeq,
        ...(rows[result.firstBadIndex] ? { rowId: rows[result.firstBadIndex].id.toString() } : {}),
        reason: result.reason,
        detail: result.detail,
      });
    }
  }
  const quarantined: QuarantinedRecord[] = [];
  for (const q of await prisma.journalQuarantine.findMany({ orderBy: { id: 'asc' } })) {
    const raw = Buffer.from(q.bytes).toString('utf8');
    const intact = linkHashOfCanonical(q.prevHash, q.chain, q.seq, raw) === q.hash;
    quarantined.push({
      chain: `agent ${q.agent} journal ${q.chain}`,
      seq: q.seq,
      rowId: q.id.toString(),
      sessionId: q.sessionId,
      reason: q.reason,
      intact,
    });
    const list = journals.get(q.chain) ?? [];
    list.push({
      agent: q.agent,
      rowId: q.id,
      record: { chain: q.chain, seq: q.seq, prevHash: q.prevHash, hash: q.hash, event: null },
      quarantined: { intact },
    });
    journals.set(q.chain, list);
  }
  let journalEvents = 0;
  for (const [chain, entries] of [...journals].sort(([a], [b]) => a.localeCompare(b))) {
    entries.sort((a, b) => a.record.seq - b.record.seq);
    journalEvents += entries.length;
    // Every agent journal starts at seq 1, and the gateway keeps all of it (the agent drops only
    // what the gateway acknowledged), so a missing record, an altered one or one the agent
    // rewrote before shipping shows here.
    const fault = verifyJournal(chain, entries);
    if (fault) faults.push(fault);
  }
  return {
    ok: faults.length === 0,
    global: { count, head: { seq: head.seq, hash: head.hash } },
    sessions: { checked: sessionIds.size, events },
    journals: { checked: journals.size, events: journalEvents },
    faults,
    quarantined,
  };
}

/**
 * One agent's journal chain, in seq order: runs of stored events go through verifyChain; a
 * quarantined record (kept as bytes, see AgentJournalIntake) must take the next seq, point at the
 * head so far, and its bytes must hash to it, as the agent chained them.
 */
function verifyJournal(chain: string, entries: readonly JournalEntry[]): AuditFault | undefined {
  const name = `agent ${entries[0]?.agent ?? '?'} journal ${chain}`;
  let head: ChainHead = { chain, seq: 0, hash: '0'.repeat(64) };
  let i = 0;
  while (i < entries.length) {
    const entry = entries[i];
    if (entry.quarantined) {
      const { record } = entry;
      const expectedSeq = head.seq + 1;
      const fault = (reason: string, detail: string): AuditFault => ({
        chain: name,
        seq: expectedSeq,
        rowId: entry.rowId.toString(),
        reason,
        detail,
      });
      if (record.seq < expectedSeq)
        return fault('duplicated', `record ${record.seq} appears again (quarantined)`);
      if (record.seq > expectedSeq) return fault('removed', `record ${expectedSeq} is missing`);
      if (record.prevHash !== head.hash) {
        return fault(
          'altered',
          `record ${record.seq} (quarantined) does not continue from record ${head.seq}`,
        );
      }
      if (!entry.quarantined.intact) {
        return fault('altered', `record ${record.seq} (quarantined) does not match its hash`);
      }
      head = { chain, seq: record.seq, hash: record.hash };
      i += 1;
      continue;
    }
    let end = i;
    while (end < entries.length && !entries[end].quarantined) end += 1;
    const run = entries.slice(i, end);
    const result = verifyChain(
      run.map((e) => e.record),
      { from: head },
    );
    if (!result.ok) {
      const bad = run[result.firstBadIndex] ?? entries[end];
      return {
        chain: name,
        seq: result.expectedSeq,
        ...(bad ? { rowId: bad.rowId.toString() } : {}),
        reason: result.reason,
        detail: result.detail,
      };
    }
    head = result.head;
    i = end;
  }
  return undefined;
}

interface JournalEntry {
  readonly agent: string;
  /** The session event's row id; for a quarantined record, its `journal_quarantine` row id. */
  readonly rowId: bigint;
  readonly record: ChainedRecord;
  /** Kept in quarantine as bytes (not an event); `intact`: the bytes hash to the record. */
  readonly quarantined?: { readonly intact: boolean };
}

/** A session event an agent journaled carries `journal`: the event as the agent hashed it is the rest. */
function collectJournalEntry(journals: Map<string, JournalEntry[]>, rowId: bigint, payload: unknown): void {
  if (typeof payload !== 'object' || payload === null || !('journal' in payload)) return;
  const { journal, ...event } = payload as { journal: unknown } & Record<string, unknown>;
  const link = journal as {
    agent?: unknown;
    chain?: unknown;
    seq?: unknown;
    prevHash?: unknown;
    hash?: unknown;
  };
  if (
    typeof link.chain !== 'string' ||
    typeof link.seq !== 'number' ||
    typeof link.prevHash !== 'string' ||
    typeof link.hash !== 'string'
  )
    return;
  const list = journals.get(link.chain) ?? [];
  list.push({
    agent: typeof link.agent === 'string' ? link.agent : '?',
    rowId,
    record: { chain: link.chain, seq: link.seq, prevHash: link.prevHash, hash: link.hash, event },
  });
  journals.set(link.chain, list);
}

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { canonicalJson, GENESIS_HASH, linkHashOfCanonical } from '@tollgate/audit';
import type { JournalRecord } from '@tollgate/proto';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';
import { verifyAuditLog } from '../audit/audit-verifier';
import { StoreService } from '../store/store.service';
import type { Principal } from '../identity/principal';
import { AgentJournalIntake } from './agent-journal-intake';
import type { LiveAgent } from './live-agent';
import { SessionRecords } from './session-records';

/**
 * A poison record in a shipped journal batch (one the store cannot hold as an event) is quarantined
 * byte for byte, the batch is acknowledged, and `audit verify` checks the agent's chain across it
 * and lists it. Real gateway and store (PGlite); the batches are what an agent's shipper sends.
 */
describe('journal intake: one bad record does not wedge an agent (quarantine)', () => {
  let gw: TestGateway;
  let store: StoreService;
  let intake: AgentJournalIntake;
  const agents: Record<string, LiveAgent> = {};
  const sessions: Record<string, string> = {};

  /** An agent's journal: records chained as AuditJournal chains them. */
  const journal = () => {
    const chain = randomUUID();
    let head = GENESIS_HASH;
    let seq = 0;
    return {
      chain,
      append(event: Record<string, unknown>): JournalRecord {
        seq += 1;
        const text = canonicalJson(event);
        const hash = linkHashOfCanonical(head, chain, seq, text);
        const record = { seq, prevHash: head, hash, event: text };
        head = hash;
        return record;
      },
      /** A record whose event text is exactly `text` (not necessarily an event at all). */
      appendText(text: string): JournalRecord {
        seq += 1;
        const hash = linkHashOfCanonical(head, chain, seq, text);
        const record = { seq, prevHash: head, hash, event: text };
        head = hash;
        return record;
      },
    };
  };
  const command = (sessionId: string, text: string) => ({
    type: 'command',
    id: randomUUID(),
    time: new Date().toISOString(),
    sessionId,
    actor: { subject: 'sa:bootstrap-admin' },
    connection: { name: 'pg-q', protocol: 'postgres' },
    command: text,
    decision: 'allow',
  });
  const journalCommands = async (sessionId: string) =>
    (await store.prisma.sessionEvent.findMany({ where: { sessionId }, orderBy: { seq: 'asc' } })).map(
      (e) => (e.payload as { command?: string }).command,
    );

  beforeAll(async () => {
    gw = await startTestGateway();
    store = gw.gateway.resolve(StoreService);
    intake = gw.gateway.resolve(AgentJournalIntake);
    for (const name of ['edge-a', 'edge-b']) {
      const row = await store.prisma.agent.create({ data: { name } });
      agents[name] = { agentId: row.id, name } as unknown as LiveAgent;
      const session = await store.prisma.session.create({
        data: {
          connectionName: 'pg-q',
          protocol: 'postgres',
          subject: 'sa:bootstrap-admin',
          agentId: row.id,
          state: 'open',
        },
      });
      sessions[name] = session.id;
    }
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('quarantines a record the store cannot hold (NUL), stores the rest, acknowledges the batch', async () => {
    const j = journal();
    const session = sessions['edge-a'];
    const records = [
      j.append(command(session, 'select 1')),
      j.append(command(session, "select e'\\x00' -- \u0000 poison")),
      j.append(command(session, 'select 3')),
    ];
    const down = await intake.ingest(agents['edge-a'], { chain: j.chain, records });
    expect(down).toEqual({ chain: j.chain, seq: 3, error: '' });
    expect(await journalCommands(session)).toEqual(['select 1', 'select 3']);

    const [kept] = await store.prisma.journalQuarantine.findMany({ where: { chain: j.chain } });
    expect(kept).toMatchObject({ agent: 'edge-a', seq: 2, sessionId: session, hash: records[1].hash });
    expect(kept.reason).toMatch(/NUL/);
    expect(Buffer.from(kept.bytes).toString('utf8')).toBe(records[1].event);
    const alert = await store.prisma.auditEntry.findFirst({ where: { action: 'journal.rejected' } });
    expect(alert).toMatchObject({ decision: 'error', subject: 'sa:bootstrap-admin' });
    expect(alert!.payload).toMatchObject({ journal: { chain: j.chain, seq: 2 }, sessionId: session });

    // The agent sends the batch again (a lost ack): nothing is stored or quarantined twice.
    expect(await intake.ingest(agents['edge-a'], { chain: j.chain, records })).toMatchObject({
      seq: 3,
      error: '',
    });
    expect(await store.prisma.journalQuarantine.count({ where: { chain: j.chain } })).toBe(1);

    // The agent's chain verifies across the quarantined record, which is listed.
    const verified = await verifyAuditLog(store.prisma);
    expect(verified.faults).toEqual([]);
    expect(verified.ok).toBe(true);
    expect(verified.quarantined).toEqual([
      expect.objectContaining({ chain: `agent edge-a journal ${j.chain}`, seq: 2, intact: true }),
    ]);
  });

  it('quarantines what is not an event and records for a session another agent served', async () => {
    const j = journal();
    const records = [
      j.appendText('not json at all'),
      j.append(command(sessions['edge-b'], "select 'not yours'")),
      j.append(command(sessions['edge-a'], "select 'after'")),
    ];
    const down = await intake.ingest(agents['edge-a'], { chain: j.chain, records });
    expect(down).toEqual({ chain: j.chain, seq: 3, error: '' });
    const kept = await store.prisma.journalQuarantine.findMany({
      where: { chain: j.chain },
      orderBy: { seq: 'asc' },
    });
    expect(kept.map((k) => [k.seq, k.reason])).toEqual([
      [1, 'record 1 is not JSON'],
      [2, `session ${sessions['edge-b']} was not served by agent "edge-a"`],
    ]);
    // Nothing landed in the other agent's session.
    expect(await journalCommands(sessions['edge-b'])).not.toContain("select 'not yours'");
    expect((await journalCommands(sessions['edge-a'])).at(-1)).toBe("select 'after'");
    expect((await verifyAuditLog(store.prisma)).ok).toBe(true);
  });

  it('a record the store refuses as data is quarantined; a store that refuses every write is not (fail closed)', async () => {
    const j = journal();
    const session = sessions['edge-a'];
    await store.sql.query(
      `ALTER TABLE session_events ADD CONSTRAINT no_poison CHECK (payload::text NOT LIKE '%poison-marker%') NOT VALID`,
    );
    try {
      const records = [
        j.append(command(session, "select 'poison-marker'")),
        j.append(command(session, 'select 5')),
      ];
      expect(await intake.ingest(agents['edge-a'], { chain: j.chain, records })).toEqual({
        chain: j.chain,
        seq: 2,
        error: '',
      });
      const [kept] = await store.prisma.journalQuarantine.findMany({ where: { chain: j.chain } });
      expect(kept).toMatchObject({ seq: 1 });
      expect(kept.reason).toMatch(/the audit store refused record 1: .*no_poison/);
    } finally {
      await store.sql.query('ALTER TABLE session_events DROP CONSTRAINT no_poison');
    }

    // The store refuses every journaled event (a trigger: the store's fault, not the record's).
    await store.sql.query(`CREATE OR REPLACE FUNCTION refuse_journal() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$`);
    await store.sql.query(`CREATE TRIGGER refuse_journal BEFORE INSERT ON session_events
      FOR EACH ROW WHEN (NEW.payload ? 'journal') EXECUTE FUNCTION refuse_journal()`);
    const k = journal();
    const held = [k.append(command(session, 'select 6')), k.append(command(session, 'select 7'))];
    try {
      const down = await intake.ingest(agents['edge-a'], { chain: k.chain, records: held });
      expect(down.seq).toBe(0);
      expect(down.error).toMatch(/could not record/);
      expect(await store.prisma.journalQuarantine.count({ where: { chain: k.chain } })).toBe(0);
    } finally {
      await store.sql.query('DROP TRIGGER refuse_journal ON session_events');
    }
    expect(await intake.ingest(agents['edge-a'], { chain: k.chain, records: held })).toMatchObject({
      seq: 2,
      error: '',
    });
    expect((await journalCommands(session)).slice(-2)).toEqual(['select 6', 'select 7']);
  });

  it("links a session's records that come after its close from memory, and still refuses another agent's", async () => {
    const records = gw.gateway.resolve(SessionRecords);
    const id = randomUUID();
    const principal: Principal = {
      subject: 'sa:bootstrap-admin',
      displayName: 'bootstrap-admin',
      groups: [],
      scopes: [],
      actorChain: [],
      tokenId: randomUUID(),
      expiresAt: new Date(Date.now() + 60_000),
    };
    await records.opening(
      {
        id,
        connectionId: randomUUID(),
        connectionName: 'pg-q',
        protocol: 'postgres',
        verb: 'connect',
        principal,
        clientAddr: 'test',
        policyVersion: null,
      },
      { subject: principal.subject, action: 'connect', target: 'connection:pg-q', decision: 'allow' },
    );
    records.opened(id, agents['edge-a'].agentId);
    records.closed(id, 'client disconnected');
    await expect
      .poll(async () => (await store.prisma.session.findUnique({ where: { id } }))?.state)
      .toBe('closed');

    // A short session's last records reach the gateway after its close, as often as not.
    const reads = vi.spyOn(store.prisma.session, 'findUnique');
    try {
      const j = journal();
      const late = [j.append(command(id, 'select 8')), j.append(command(id, 'select 9'))];
      expect(await intake.ingest(agents['edge-a'], { chain: j.chain, records: late })).toEqual({
        chain: j.chain,
        seq: 2,
        error: '',
      });
      // After the session's open and close events, in its chain.
      expect(await journalCommands(id)).toEqual([undefined, undefined, 'select 8', 'select 9']);
      const other = journal();
      await intake.ingest(agents['edge-b'], {
        chain: other.chain,
        records: [other.append(command(id, "select 'not yours'"))],
      });
      const [kept] = await store.prisma.journalQuarantine.findMany({ where: { chain: other.chain } });
      expect(kept?.reason).toBe(`session ${id} was not served by agent "edge-b"`);
      expect(reads).not.toHaveBeenCalled();
    } finally {
      reads.mockRestore();
    }
    expect((await verifyAuditLog(store.prisma)).ok).toBe(true);
  });

  it('audit verify names a quarantined record whose bytes were altered', async () => {
    const [kept] = await store.prisma.journalQuarantine.findMany({ orderBy: { id: 'asc' }, take: 1 });
    await store.prisma.journalQuarantine.update({
      where: { id: kept.id },
      data: { bytes: Buffer.from('something else') },
    });
    const verified = await verifyAuditLog(store.prisma);
    expect(verified.ok).toBe(false);
    expect(verified.faults).toEqual([
      expect.objectContaining({
        chain: `agent edge-a journal ${kept.chain}`,
        seq: kept.seq,
        reason: 'altered',
        detail: `record ${kept.seq} (quarantined) does not match its hash`,
      }),
    ]);
  });
});

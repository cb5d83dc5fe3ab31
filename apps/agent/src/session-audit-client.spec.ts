import { ApprovalOutcome, CommandDecision, type SessionUp } from '@tollgate/proto';
import { describe, expect, it } from 'vitest';
import {
  AuditRefusedError,
  SessionAuditClient,
  SessionEndedError,
  type EdgeJournal,
} from './session-audit-client';

describe('SessionAuditClient', () => {
  const setup = (ackTimeoutMs = 10_000) => {
    const sent: SessionUp[] = [];
    const client = new SessionAuditClient((m) => sent.push(m), { policyVersion: 4, ackTimeoutMs });
    return { sent, client };
  };

  it('resolves a record only on a durable ack, and rejects a refused one', async () => {
    const { sent, client } = setup();
    const first = client.record({ command: 'SELECT 1', decision: 'allow', masking: ['pii'] });
    const second = client.record({ command: 'DROP TABLE t', decision: 'deny', rule: 'no-drop' });
    expect(sent.map((m) => m.kind?.$case === 'commandAudit' && m.kind.commandAudit)).toEqual([
      expect.objectContaining({
        requestId: 1,
        command: 'SELECT 1',
        decision: CommandDecision.ALLOW,
        policyVersion: 4,
        masking: ['pii'],
      }),
      expect.objectContaining({ requestId: 2, decision: CommandDecision.DENY, rule: 'no-drop' }),
    ]);
    expect(
      client.handle({
        kind: {
          $case: 'commandAuditAck',
          commandAuditAck: { requestId: 2, durable: false, error: 'disk full' },
        },
      }),
    ).toBe(true);
    client.handle({
      kind: { $case: 'commandAuditAck', commandAuditAck: { requestId: 1, durable: true, error: '' } },
    });
    await expect(first).resolves.toBeUndefined();
    await expect(second).rejects.toThrow(new AuditRefusedError('disk full'));
  });

  it('fails closed when no ack arrives or the session ends', async () => {
    const { client } = setup(20);
    await expect(client.record({ command: 'x', decision: 'allow' })).rejects.toBeInstanceOf(
      AuditRefusedError,
    );
    const { client: other } = setup();
    const pending = other.record({ command: 'y', decision: 'allow' });
    const approval = other.requestApproval({
      command: 'z',
      rule: 'r',
      approvers: ['group:dba'],
      minApprovals: 1,
      timeoutSeconds: 60,
    });
    other.close('session ended');
    await expect(pending).rejects.toBeInstanceOf(AuditRefusedError);
    await expect(approval).resolves.toMatchObject({ approved: false, outcome: 'unavailable' });
    await expect(other.record({ command: 'later', decision: 'allow' })).rejects.toBeInstanceOf(
      AuditRefusedError,
    );
  });

  it('tells the review id while holding, then the outcome', async () => {
    const { client } = setup();
    const seen: string[] = [];
    const result = client.requestApproval(
      {
        command: 'DELETE FROM t',
        rule: 'writes',
        approvers: ['group:dba'],
        minApprovals: 2,
        timeoutSeconds: 900,
      },
      (id) => seen.push(id),
    );
    client.handle({ kind: { $case: 'approvalPending', approvalPending: { requestId: 1, reviewId: 'r-1' } } });
    expect(seen).toEqual(['r-1']);
    client.handle({
      kind: {
        $case: 'approvalAnswer',
        approvalAnswer: {
          requestId: 1,
          reviewId: 'r-1',
          outcome: ApprovalOutcome.EXPIRED,
          reason: 'timed out',
        },
      },
    });
    await expect(result).resolves.toEqual({
      approved: false,
      reviewId: 'r-1',
      outcome: 'expired',
      reason: 'timed out',
    });
    expect(
      client.handle({ kind: { $case: 'frame', frame: { kind: { $case: 'data', data: Buffer.from('x') } } } }),
    ).toBe(false);
  });

  it('edge mode: a command whose record becomes durable after the session was ended does not run', async () => {
    const later: string[] = [];
    const writes: (() => void)[] = [];
    const journal: EdgeJournal = {
      appendCanonical: () => new Promise<void>((resolve) => writes.push(resolve)),
      appendCanonicalLater: (text) => later.push(text),
      chain: 'chain-1',
      appendedThrough: 0,
    };
    const client = new SessionAuditClient(() => undefined, {
      policyVersion: 4,
      edge: {
        journal,
        refusal: () => undefined,
        session: {
          id: '00000000-0000-4000-8000-000000000001',
          actor: { subject: 'user:1', actorChain: ['sa:pipeline'] },
          connection: { name: 'api', protocol: 'http' },
        },
      },
    });
    const pending = client.record({ command: 'DELETE /things/1', decision: 'allow' });
    client.close('killed by admin@example.com');
    for (const durable of writes) durable(); // the journal write lands after the kill
    await expect(pending).rejects.toThrow(new SessionEndedError('killed by admin@example.com'));
    // Its result says it never ran, so the log does not show an allowed command as run.
    expect(later.map((text) => JSON.parse(text) as Record<string, unknown>)).toEqual([
      expect.objectContaining({
        type: 'command.result',
        command: 'DELETE /things/1',
        error: 'not run: the session was ended (killed by admin@example.com)',
      }),
    ]);
    await expect(client.record({ command: 'GET /later', decision: 'allow' })).rejects.toBeInstanceOf(
      AuditRefusedError,
    );
  });
});

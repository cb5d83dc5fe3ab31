import { parsePolicy, type Policy } from '@tollgate/policy';
import { describe, expect, it } from 'vitest';
import { gateCommand } from './command-gate';
import type { ApprovalAsk, CommandRecord, SessionAuditClient } from './session-audit-client';

const policy = (text: string): Policy => {
  const parsed = parsePolicy(`version: 1\n${text}`, 'policy.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.policy;
};

const HELD = policy(`guardrails:
  - name: deletes-need-approval
    require_approval: {statements: [DELETE], approvers: ['group:dba']}
`);

/** An audit path whose reviewers approve at once, after `meanwhile` (a new version arriving). */
function approvingAudit(meanwhile: () => void) {
  const records: CommandRecord[] = [];
  const audit = {
    record: (record: CommandRecord) => {
      records.push(record);
      return Promise.resolve();
    },
    requestApproval: (ask: ApprovalAsk) => {
      meanwhile();
      return Promise.resolve({
        approved: true,
        reviewId: `review-of-${ask.rule}`,
        outcome: 'approved',
        reason: '',
      });
    },
  } as unknown as SessionAuditClient;
  return { audit, records };
}

const gate = (now: () => Policy, audit: SessionAuditClient) =>
  gateCommand({
    policy: HELD,
    policyNow: now,
    context: {
      subject: { subject: 'user:dev', groups: [], actorChain: [] },
      connection: { name: 'pg', protocol: 'postgres', tags: {} },
      readOnly: false,
    },
    facts: { kind: 'sql', statements: [{ type: 'DELETE', tables: ['t'], hasWhere: false, readOnly: false }] },
    text: 'DELETE FROM t',
    audit,
    notify: () => undefined,
  });

describe('gateCommand: a command approved while a new policy version arrived', () => {
  it('runs when the version in force asks the same reviews', async () => {
    let current = HELD;
    const { audit, records } = approvingAudit(
      () =>
        (current = policy(`guardrails:
  - name: deletes-need-approval
    require_approval: {statements: [DELETE], approvers: ['group:dba']}
  - name: no-drop
    deny: {statements: [DROP]}
`)),
    );
    expect(await gate(() => current, audit)).toMatchObject({ allow: true });
    expect(records.map((r) => r.decision)).toEqual(['allow']);
  });

  it('does not run when the version in force denies it', async () => {
    let current = HELD;
    const { audit, records } = approvingAudit(
      () =>
        (current = policy(`guardrails:
  - name: no-deletes
    deny: {statements: [DELETE], message: deletes are off}
`)),
    );
    expect(await gate(() => current, audit)).toEqual({
      allow: false,
      message: 'deletes are off',
      rule: 'no-deletes',
    });
    expect(records.map((r) => r.decision)).toEqual(['deny']);
  });

  it('does not run when the version in force asks other reviewers than those who approved', async () => {
    let current = HELD;
    const { audit, records } = approvingAudit(
      () =>
        (current = policy(`guardrails:
  - name: deletes-need-approval
    require_approval: {statements: [DELETE], approvers: ['group:security'], min_approvals: 2}
`)),
    );
    const result = await gate(() => current, audit);
    expect(result).toMatchObject({ allow: false, rule: 'deletes-need-approval' });
    expect(result.allow === false && result.message).toContain(
      'the policy changed while the command waited for review',
    );
    expect(records.map((r) => r.decision)).toEqual(['deny']);
  });
});

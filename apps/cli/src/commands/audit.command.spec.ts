import { describe, expect, it } from 'vitest';
import { auditLine, type AuditEntry } from './audit.command';

const base: Omit<AuditEntry, 'action' | 'decision' | 'reason' | 'payload'> = {
  seq: '54',
  at: '2026-12-05T22:50:41.703Z',
  subject: 'sa:ci-bot',
  actorChain: [{ subject: 'sa:ci-bot' }],
  target: 'connection:shop',
};

describe('`tollgate audit` lines of commands say what ran and what it did', () => {
  it('a command shows its text, and a denied one the rule that stopped it', () => {
    expect(
      auditLine({
        ...base,
        action: 'command',
        decision: 'allow',
        reason: null,
        payload: { command: 'select 1' },
      }),
    ).toBe(
      '54 2026-12-05T22:50:41.703Z ALLOW command connection:shop by sa:ci-bot via sa:ci-bot: select 1\n',
    );
    expect(
      auditLine({
        ...base,
        action: 'command',
        decision: 'deny',
        reason: 'DROP is denied by policy rule "no-drop"',
        payload: { command: 'drop table people' },
      }),
    ).toContain(': drop table people (DROP is denied by policy rule "no-drop")\n');
  });

  it("a result shows the command's rows, bytes, time, status and error", () => {
    expect(
      auditLine({
        ...base,
        action: 'command.result',
        decision: 'allow',
        reason: null,
        payload: { command: 'select 1', rows: 1, bytes: 36, durationMs: 0.55 },
      }),
    ).toContain(': select 1 -> 1 row, 36 bytes, 0.55 ms\n');
    expect(
      auditLine({
        ...base,
        action: 'command.result',
        decision: 'error',
        reason: 'relation "nope" does not exist',
        payload: {
          command: 'select * from nope',
          rows: 0,
          bytes: 0,
          durationMs: 1,
          error: 'relation "nope" does not exist',
        },
      }),
    ).toContain(': select * from nope -> 0 rows, 0 bytes, 1 ms, error: relation "nope" does not exist\n');
    expect(
      auditLine({
        ...base,
        action: 'command.result',
        decision: 'allow',
        reason: null,
        payload: { command: 'GET /api/v1/pods', status: 200, rows: 0, bytes: 512, durationMs: 3 },
      }),
    ).toContain(': GET /api/v1/pods -> 200, 0 rows, 512 bytes, 3 ms\n');
  });

  it('a long or multi-line command stays on one line, cut, its controls escaped', () => {
    const line = auditLine({
      ...base,
      action: 'command',
      decision: 'allow',
      reason: null,
      payload: { command: `select\n${'x'.repeat(1000)}\u001b[2J` },
    });
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(line).toContain(': select\\nxxx');
    expect(line.endsWith('xxx...\n')).toBe(true);
    expect(line.length).toBeLessThan(400);
  });

  it('other records show their reason', () => {
    expect(
      auditLine({
        ...base,
        action: 'token:exchange',
        decision: 'deny',
        reason: 'delegation depth 3 exceeds the maximum',
        payload: {},
      }),
    ).toContain('by sa:ci-bot via sa:ci-bot: delegation depth 3 exceeds the maximum\n');
  });
});

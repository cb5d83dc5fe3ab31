import { describe, expect, it } from 'vitest';
import { auditLine } from './audit.command';

/** The line `tollgate audit` prints for a record of sa:ci-bot (delegated once) on connection shop. */
const line = (action: string, decision: string, reason: string | null, payload: Record<string, unknown>) =>
  auditLine({
    seq: '54',
    at: '2026-12-05T22:50:41.703Z',
    subject: 'sa:ci-bot',
    actorChain: [{ subject: 'sa:ci-bot' }],
    target: 'connection:shop',
    action,
    decision,
    reason,
    payload,
  });

describe('`tollgate audit` lines of commands say what ran and what it did', () => {
  it('a command shows its text, and a denied one the rule that stopped it', () => {
    expect(line('command', 'allow', null, { command: 'select 1' })).toBe(
      '54 2026-12-05T22:50:41.703Z ALLOW command connection:shop by sa:ci-bot via sa:ci-bot: select 1\n',
    );
    expect(
      line('command', 'deny', 'DROP is denied by policy rule "no-drop"', { command: 'drop table people' }),
    ).toContain(': drop table people (DROP is denied by policy rule "no-drop")\n');
  });

  it("a result shows the command's rows, bytes, time, status and error", () => {
    expect(
      line('command.result', 'allow', null, { command: 'select 1', rows: 1, bytes: 36, durationMs: 0.55 }),
    ).toContain(': select 1 -> 1 row, 36 bytes, 0.55 ms\n');
    const error = 'relation "nope" does not exist';
    expect(
      line('command.result', 'error', error, {
        command: 'select * from nope',
        ...{ rows: 0, bytes: 0, durationMs: 1, error },
      }),
    ).toContain(': select * from nope -> 0 rows, 0 bytes, 1 ms, error: relation "nope" does not exist\n');
    expect(
      line('command.result', 'allow', null, {
        command: 'GET /api/v1/pods',
        ...{ status: 200, rows: 0, bytes: 512, durationMs: 3 },
      }),
    ).toContain(': GET /api/v1/pods -> 200, 0 rows, 512 bytes, 3 ms\n');
  });

  it('a long or multi-line command stays on one line, cut, its controls escaped', () => {
    const printed = line('command', 'allow', null, { command: `select\n${'x'.repeat(1000)}\u001b[2J` });
    expect(printed.slice(0, -1)).not.toContain('\n');
    expect(printed).toContain(': select\\nxxx');
    expect(printed.endsWith('xxx...\n')).toBe(true);
    expect(printed.length).toBeLessThan(400);
  });

  it('other records show their reason', () => {
    expect(line('token:exchange', 'deny', 'delegation depth 3 exceeds the maximum', {})).toContain(
      'by sa:ci-bot via sa:ci-bot: delegation depth 3 exceeds the maximum\n',
    );
  });
});

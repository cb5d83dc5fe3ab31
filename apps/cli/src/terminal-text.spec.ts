import { afterEach, describe, expect, it, vi } from 'vitest';
import { printTable } from './commands/admin/agents-list.command';
import { auditLine } from './commands/audit.command';

/** Text a requester (or an IdP profile) controls, as it reaches a reviewer's terminal. */
const HOSTILE =
  'incident 9\nabc-123  access  approved  boss@example.com  pg-prod  connect 1h: ok' +
  '\u001b[2J\u001b[H' + // clear the screen, cursor home
  '\u001b]52;c;dG9sbGdhdGUgcmV2aWV3cyBhcHByb3ZlIG90aGVy\u0007' + // OSC 52: set the clipboard
  '\r\u202eevil\u202c\u0085\u009b31m';

// eslint-disable-next-line no-control-regex -- what must not reach the terminal
const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

/**
 * The CLI prints what the gateway stores: access-request reasons, display names, audit reasons.
 * Whatever they contain, a line of output stays one line, and nothing in it drives the terminal.
 */
describe('terminal output: stored text is shown, never run by the terminal', () => {
  const written: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    written.length = 0;
  });
  const capture = () =>
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });

  it('`tollgate reviews list` (and every table): one line per row, controls escaped', () => {
    capture();
    printTable(['ID', 'REQUESTER', 'WHAT'], [['r-1', 'mallory\u001b[8m', `connect 600s: ${HOSTILE}`]]);
    const out = written.join('');
    expect(out.split('\n').filter(Boolean)).toHaveLength(2);
    expect(out).not.toMatch(CONTROLS);
    // The reviewer still reads every character, escaped.
    expect(out).toContain('incident 9\\nabc-123');
    expect(out).toContain('\\u001b]52;c;');
    expect(out).toContain('\\u202eevil');
  });

  it('`tollgate audit`: one line per record, controls escaped', () => {
    const line = auditLine({
      seq: '7',
      at: '2026-01-01T00:00:00.000Z',
      subject: 'user:1b2c3d4e-0000-4000-8000-000000000002',
      subjectName: 'Mallory\u001b[2K',
      actorChain: [],
      action: 'review:request',
      target: 'connection:pg-prod',
      decision: 'allow',
      reason: HOSTILE,
      payload: {},
    });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(line).not.toMatch(CONTROLS);
    expect(line).toContain('ALLOW review:request connection:pg-prod by Mallory\\u001b[2K (user:');
  });
});

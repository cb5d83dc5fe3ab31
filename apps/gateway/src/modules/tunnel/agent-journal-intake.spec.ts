import { canonicalJson } from '@tollgate/audit';
import { describe, expect, it } from 'vitest';
import { unstorableEventText } from './agent-journal-intake';

/** The event as the agent ships it (canonical text) and as the gateway parses it. */
const shipped = (command: string) => {
  const text = canonicalJson({ type: 'command', sessionId: '00000000-0000-4000-8000-000000000000', command });
  return [text, JSON.parse(text) as unknown] as const;
};

describe('unstorableEventText (what the store would refuse in a shipped event)', () => {
  it('finds a NUL and a lone surrogate, escaped as the agent writes them', () => {
    expect(unstorableEventText(...shipped('SELECT 1\u0000'))).toMatch(/NUL/);
    expect(unstorableEventText(...shipped('SELECT \ud800 1'))).toMatch(/unpaired surrogate/);
    expect(unstorableEventText(...shipped('SELECT \udc00'))).toMatch(/unpaired surrogate/);
    // Unescaped, as a tampered or hand-made journal could hold them.
    const raw = '{"command":"SELECT \ud800","sessionId":"x","type":"command"}';
    expect(unstorableEventText(raw, { command: 'SELECT \ud800' })).toMatch(/unpaired surrogate/);
    const key = '{"\\u0000":1}';
    expect(unstorableEventText(key, JSON.parse(key))).toMatch(/NUL/);
  });

  it('passes text that only looks suspicious: an escaped backslash before u0000, an emoji', () => {
    expect(unstorableEventText(...shipped("SELECT '\\u0000'"))).toBeUndefined();
    expect(unstorableEventText(...shipped("SELECT '😀'"))).toBeUndefined();
    expect(unstorableEventText(...shipped("SELECT E'\\ud83d\\ude00'"))).toBeUndefined();
  });

  it('passes ordinary statements', () => {
    expect(
      unstorableEventText(...shipped('SELECT abalance FROM pgbench_accounts WHERE aid = 1;')),
    ).toBeUndefined();
  });
});

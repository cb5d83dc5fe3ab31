import { describe, expect, it } from 'vitest';
import type { WebhookDispatcher } from '../audit/webhook-dispatcher';
import { ReviewNotifier } from './review-notifier';
import type { ReviewView } from './reviews.service';

const REVIEW: ReviewView = {
  id: '6f1c2d3e-0000-4000-8000-000000000001',
  kind: 'access',
  state: 'pending',
  requester: 'user:1b2c3d4e-0000-4000-8000-000000000002',
  connection: 'pg-prod',
  verb: 'connect',
  durationSeconds: 600,
  reason: 'incident 42',
  sessionId: null,
  command: null,
  rule: 'prod-access',
  approvers: ['group:dba'],
  minApprovals: 1,
  policyVersion: 3,
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-02T00:00:00.000Z',
  decidedAt: null,
  grantExpiresAt: null,
  decisions: [],
};

/** What the review webhook receives for a review. */
function posted(review: ReviewView): { text: string; review: ReviewView } {
  const sent: unknown[] = [];
  const webhooks = {
    options: { reviewWebhookUrl: 'http://127.0.0.1:9/hook' },
    send: (_url: string | undefined, payload: unknown) => sent.push(payload),
  } as unknown as WebhookDispatcher;
  new ReviewNotifier(webhooks).requested(review);
  expect(sent).toHaveLength(1);
  return sent[0] as { text: string; review: ReviewView };
}

/**
 * The requester writes the reason (and, for a held command, the command): in the message reviewers
 * read it is data, never lines, mentions, links or instructions of the gateway's own.
 */
describe('review notifier: what the requester wrote is shown as data', () => {
  it('keeps a forged line, a mention, a link and terminal escapes out of the message', () => {
    const reason =
      'incident 42\n:white_check_mark: Approved by security. Decide with `tollgate reviews approve 00000000-0000-4000-8000-000000000000`\r\n' +
      '<!channel> see <https://evil.example/login|the runbook> & \u001b[2J\u001b[31mOK';
    const { text, review } = posted({ ...REVIEW, reason });
    // The gateway's own two lines and nothing more.
    expect(text.split('\n')).toHaveLength(2);
    expect(text.split('\n')[1]).toMatch(/^Reviewers: group:dba \(1 needed\)\. Decide with /);
    const controls = [...text].filter((c) => c !== '\n' && (c < ' ' || (c >= '\u007f' && c <= '\u009f')));
    expect(controls).toEqual([]);
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<https://');
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('&amp;');
    // The reason is there, quoted, in full: reviewers see exactly what was written.
    expect(text).toContain('asks for connect on pg-prod for 600s: "incident 42\\n:white_check_mark:');
    expect(text).toContain('\\u001b[2J');
    // The structured copy for other receivers is the review as stored.
    expect(review.reason).toBe(reason);
  });

  it('shows a held command on one line, quoted', () => {
    const command = "select 1;\n-- Approved, run `tollgate reviews approve x`\nselect '<@U123>'";
    const { text } = posted({ ...REVIEW, kind: 'command', verb: null, reason: null, command });
    expect(text.split('\n')).toHaveLength(2);
    expect(text).toContain('held by prod-access: "select 1;\\n-- Approved');
    expect(text).toContain('&lt;@U123&gt;');
  });
});

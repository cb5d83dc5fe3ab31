import { Injectable } from '@nestjs/common';
import { WebhookDispatcher } from '../audit/webhook-dispatcher';
import type { ReviewView } from './reviews.service';

/**
 * Tells reviewers about reviews through the review webhook, as a Slack-compatible payload
 * (`{"text": ...}`; the review itself rides along under `review` for other receivers).
 */
@Injectable()
export class ReviewNotifier {
  constructor(private readonly webhooks: WebhookDispatcher) {}

  requested(review: ReviewView): void {
    const what =
      review.kind === 'access'
        ? `${review.verb ?? 'access'} on ${review.connection} for ${review.durationSeconds ?? 0}s: ${asData(review.reason ?? '')}`
        : `a command on ${review.connection} held by ${review.rule}: ${asData((review.command ?? '').slice(0, 500))}`;
    this.post(
      review,
      `:raised_hand: ${review.requester} asks for ${what}\nReviewers: ${review.approvers.join(', ')} (${review.minApprovals} needed). ` +
        `Decide with \`tollgate reviews approve ${review.id}\` or \`tollgate reviews reject ${review.id}\`.`,
    );
  }

  decided(review: ReviewView, by: string): void {
    this.post(
      review,
      `Review ${review.id} (${review.kind} by ${review.requester} on ${review.connection}) is ${review.state} (last decision by ${by}).`,
    );
  }

  private post(review: ReviewView, text: string): void {
    this.webhooks.send(this.webhooks.options.reviewWebhookUrl, { text, review });
  }
}

/**
 * What a requester wrote (a reason, a held command), as one quoted line of Slack text: line breaks
 * and other control characters (terminal escapes too) are shown escaped, and Slack's markup
 * characters are entity-encoded, so it can neither add lines that read as the gateway's own (a
 * forged "approved" or another review's approve command), nor mention a channel, nor hide a link.
 */
function asData(text: string): string {
  return JSON.stringify(text)
    .replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

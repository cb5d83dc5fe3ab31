import { createHmac } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';

export interface WebhookOptions {
  /** Receives every committed audit record, in order (see AuditWebhookExporter). */
  readonly auditWebhookUrl?: string;
  /** Receives review requests and decisions as a Slack-compatible `{"text": ...}` payload. */
  readonly reviewWebhookUrl?: string;
  /** Signs every body: `x-tollgate-signature: sha256=HMAC(secret, "<timestamp>.<body>")`. */
  readonly webhookSecret?: string;
}

export const WebhookOptionsToken = Symbol('WebhookOptions');

const MAX_QUEUED = 10_000;
const MAX_ATTEMPTS = 8;
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;
const REQUEST_TIMEOUT_MS = 10_000;

interface Delivery {
  readonly body: string;
  attempts: number;
}

/**
 * Delivers notification webhooks (review requests and decisions) in the background: one ordered
 * queue per URL, each body signed (HMAC-SHA256
 * over timestamp and body), retried with capped exponential backoff and jitter, dropped (with a log
 * line) after MAX_ATTEMPTS or when the queue overflows. Sending never waits for delivery, so a slow
 * or dead receiver never holds up a session.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationShutdown {
  private readonly logger = new Logger('webhooks');
  private readonly queues = new Map<string, Delivery[]>();
  private readonly running = new Set<string>();
  private stopped = false;

  constructor(@Inject(WebhookOptionsToken) readonly options: WebhookOptions) {}

  send(url: string | undefined, payload: unknown): void {
    if (!url || this.stopped) return;
    const queue = this.queues.get(url) ?? [];
    this.queues.set(url, queue);
    if (queue.length >= MAX_QUEUED) {
      queue.shift();
      this.logger.warn(`webhook queue for ${new URL(url).host} is full; the oldest delivery was dropped`);
    }
    queue.push({ body: JSON.stringify(payload), attempts: 0 });
    void this.drain(url);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
  }

  private async drain(url: string): Promise<void> {
    if (this.running.has(url)) return;
    this.running.add(url);
    try {
      const queue = this.queues.get(url) ?? [];
      while (queue.length > 0 && !this.stopped) {
        const delivery = queue[0];
        delivery.attempts += 1;
        const error = await this.post(url, delivery.body);
        if (error === null) {
          queue.shift();
          continue;
        }
        if (delivery.attempts >= MAX_ATTEMPTS) {
          queue.shift();
          this.logger.error(
            `webhook to ${new URL(url).host} dropped after ${delivery.attempts} attempts: ${error}`,
          );
          continue;
        }
        const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (delivery.attempts - 1));
        await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)).unref());
      }
    } finally {
      this.running.delete(url);
    }
  }

  private post(url: string, body: string): Promise<string | null> {
    return postSignedWebhook(url, body, this.options.webhookSecret);
  }
}

/**
 * POSTs one webhook body, signed when a secret is set: `x-tollgate-signature: sha256=HMAC(secret,
 * "<timestamp>.<body>")` with `x-tollgate-timestamp`. Resolves null when delivered (2xx), otherwise
 * with why not; never throws.
 */
export async function postSignedWebhook(
  url: string,
  body: string,
  secret: string | undefined,
): Promise<string | null> {
  const timestamp = Math.floor(Date.now() / 1000).toString();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'tollgate-webhooks',
    'x-tollgate-timestamp': timestamp,
  };
  if (secret) {
    headers['x-tollgate-signature'] =
      `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
  }
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    await response.arrayBuffer().catch(() => undefined);
    return response.ok ? null : `HTTP ${response.status}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

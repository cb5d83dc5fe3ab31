import { Client, type ClientConfig } from 'pg';
import type { StoreLog } from '../store-log';
import { CHANGES_CHANNEL, ChangeFanout, type StoreChanges } from './store-changes';

export interface PostgresChangesOptions {
  readonly connection: ClientConfig;
  readonly log: StoreLog;
  /** Where the store is, safe to log. */
  readonly describe: string;
  /** How often the listening connection is checked (a dead peer sends no error). */
  readonly checkIntervalMs?: number;
  /** A check that takes longer than this counts as a lost connection. */
  readonly checkTimeoutMs?: number;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2_000;

/**
 * LISTEN on a connection of its own. While it is down (refused, dropped, or silent past a check) the
 * feed is not live, so everything kept in memory is bypassed and the store is read instead (fail
 * closed); it reconnects with backoff, and once LISTEN is back the subscribers drop what they kept
 * (changes in between were not heard) and the feed is live again.
 */
export async function postgresChanges(options: PostgresChangesOptions): Promise<StoreChanges> {
  const fanout = new ChangeFanout();
  const checkIntervalMs = options.checkIntervalMs ?? 5_000;
  const checkTimeoutMs = options.checkTimeoutMs ?? 3_000;
  let client: Client | undefined;
  let closed = false;
  let retryMs = FIRST_RETRY_MS;
  let retryTimer: NodeJS.Timeout | undefined;
  let lastFailure = '';

  const lost = (from: Client, reason: string) => {
    if (client !== from) return;
    client = undefined;
    fanout.setLive(false);
    from.removeAllListeners('notification');
    from.on('error', () => undefined);
    void from.end().catch(() => undefined);
    if (closed) return;
    if (reason !== lastFailure) {
      options.log('warn', 'store change notifications lost; reading the store until they are back', {
        database: options.describe,
        error: reason,
      });
      lastFailure = reason;
    }
    retryTimer = setTimeout(() => void connect(), retryMs);
    retryTimer.unref();
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };

  const connect = async (): Promise<void> => {
    retryTimer = undefined;
    if (closed) return;
    const next = new Client({ ...options.connection, application_name: 'tollgate-changes', keepAlive: true });
    client = next;
    next.on('error', (error) => lost(next, error.message));
    next.on('end', () => lost(next, 'the connection ended'));
    next.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL && message.payload) fanout.changed(message.payload);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      lost(next, error instanceof Error ? error.message : String(error));
      return;
    }
    if (client !== next) return;
    retryMs = FIRST_RETRY_MS;
    if (lastFailure) {
      options.log('info', 'store change notifications are back', { database: options.describe });
      lastFailure = '';
    }
    fanout.setLive(true);
  };

  /**
   * One round trip on the listening connection. The server sends the notifications it has for the
   * connection before it reads the next query, so once the answer is in, every change committed
   * before the query was sent has been announced. An answer that does not come in time means the
   * connection is lost. Resolves either way.
   */
  const roundTrip = (): Promise<void> => {
    const current = client;
    if (!current || !fanout.isLive) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timeout = setTimeout(() => {
        lost(current, `no answer within ${checkTimeoutMs} ms`);
        resolve();
      }, checkTimeoutMs);
      current.query('SELECT 1').then(
        () => {
          clearTimeout(timeout);
          resolve();
        },
        (error: unknown) => {
          clearTimeout(timeout);
          lost(current, error instanceof Error ? error.message : String(error));
          resolve();
        },
      );
    });
  };
  // The round trip in flight, and the one queued behind it for callers that came after it was sent
  // (the one in flight may have left before their changes committed).
  let inFlight: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const settled = (): Promise<void> => {
    if (!client || !fanout.isLive) return Promise.resolve();
    if (!inFlight) {
      const trip = roundTrip().finally(() => {
        if (inFlight === trip) inFlight = undefined;
      });
      inFlight = trip;
      return trip;
    }
    queued ??= inFlight.then(() => {
      queued = undefined;
      return settled();
    });
    return queued;
  };

  // A connection whose peer vanished without a word looks alive; a query that does not come back
  // in time says otherwise.
  const check = setInterval(() => void settled(), checkIntervalMs);
  check.unref();

  await connect();
  return {
    get isLive() {
      return fanout.isLive;
    },
    subscribe: (listener) => fanout.subscribe(listener),
    settled,
    async close() {
      closed = true;
      clearInterval(check);
      clearTimeout(retryTimer);
      const current = client;
      client = undefined;
      fanout.setLive(false);
      if (current) {
        current.on('error', () => undefined);
        await current.end().catch(() => undefined);
      }
    },
  };
}

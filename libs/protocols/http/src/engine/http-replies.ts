import type { ReplyFormat } from '../proxy/http-session';

const json = (value: unknown) => Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
const CONTENT_TYPE = ['Content-Type', 'application/json'] as const;

/**
 * The relay's own answers on an http connection: JSON naming why, and for a denial the policy rule
 * (`{"error":"forbidden","message":...,"rule":...}`), so scripts can tell Tollgate's 403 from the
 * service's.
 */
export const httpReplies: ReplyFormat = {
  denied: (message, rule) => ({
    headers: [CONTENT_TYPE],
    body: json({ error: 'forbidden', message, ...(rule ? { rule } : {}), by: 'tollgate' }),
  }),
  error: (status, message) => ({
    headers: [CONTENT_TYPE],
    body: json({ error: status >= 500 ? 'bad_gateway' : 'bad_request', message, by: 'tollgate' }),
  }),
};

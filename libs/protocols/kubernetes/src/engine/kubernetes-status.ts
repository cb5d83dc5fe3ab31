import { Protocol } from '@tollgate/proto';
import { httpRefuser, type ReplyFormat } from '@tollgate/protocol-http';

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  403: 'Forbidden',
  408: 'Timeout',
  431: 'RequestEntityTooLarge',
  501: 'MethodNotAllowed',
  502: 'ServiceUnavailable',
  505: 'BadRequest',
};

const status = (code: number, reason: string, message: string) => ({
  headers: [['Content-Type', 'application/json']] as const,
  body: Buffer.from(
    `${JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code })}\n`,
  ),
});

/**
 * The relay's own answers as a Kubernetes `Status`, which kubectl and client libraries print as they
 * print the API server's: `Error from server (Forbidden): <message>`.
 */
export const kubernetesReplies: ReplyFormat = {
  denied: (message, rule) =>
    status(
      403,
      'Forbidden',
      rule && !message.includes(rule) ? `${message} (tollgate policy rule "${rule}")` : message,
    ),
  error: (code, message) => status(code, REASONS[code] ?? 'InternalError', `tollgate: ${message}`),
};

/** Refusals before a session opens, as a Status kubectl prints. */
export const kubernetesRefuser = httpRefuser(Protocol.KUBERNETES, kubernetesReplies);

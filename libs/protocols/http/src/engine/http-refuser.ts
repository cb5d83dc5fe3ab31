import { Protocol } from '@tollgate/proto';
import type { ProtocolRefuser, Refusal, RefusalKind, SessionWatch } from '@tollgate/protocol-tcp';
import { serializeResponse } from '../http-head.serializer';
import { HttpRequestParser } from '../http-message.parser';
import { HttpProtocolError } from '../http-protocol.error';
import type { ReplyFormat } from '../proxy/http-session';
import { httpReplies } from './http-replies';

/** The status a client hears for each way Tollgate refuses a session. */
const STATUSES: Record<RefusalKind, [number, string]> = {
  'not-found': [404, 'Not Found'],
  denied: [403, 'Forbidden'],
  unauthenticated: [401, 'Unauthorized'],
  unavailable: [502, 'Bad Gateway'],
  terminated: [503, 'Service Unavailable'],
  'credential-expired': [401, 'Unauthorized'],
  'policy-changed': [403, 'Forbidden'],
  'idle-timeout': [408, 'Request Timeout'],
  shutdown: [503, 'Service Unavailable'],
  lost: [502, 'Bad Gateway'],
  internal: [502, 'Bad Gateway'],
};

/** Reads the client's request head, then answers it with the refusal and closes. */
function refusal(replies: ReplyFormat, refused: Refusal): Buffer {
  const [status, reason] = STATUSES[refused.kind];
  const reply =
    status === 403
      ? replies.denied(`tollgate: ${refused.message}`, undefined)
      : replies.error(status, refused.message);
  return serializeResponse(status, reason, [...reply.headers, ['Connection', 'close']], reply.body);
}

/** A ProtocolRefuser for protocols on HTTP/1.1; `replies` words the body (JSON, Kubernetes Status). */
export function httpRefuser(protocol: Protocol, replies: ReplyFormat): ProtocolRefuser {
  return {
    protocol,
    recognizes: (opening) => {
      const line = opening.toString('latin1', 0, Math.min(opening.length, 16));
      if (!/^[A-Z]*$/.test(line.split(' ')[0] ?? '')) return false;
      return line.includes(' ') ? true : undefined;
    },
    refuseOpening: (refused) => {
      const parser = new HttpRequestParser();
      return {
        receive: (bytes) => {
          let head = false;
          try {
            parser.parse(bytes, (event) => {
              if (event.type === 'head') head = true;
            });
          } catch (error) {
            if (!(error instanceof HttpProtocolError)) throw error;
            head = true;
          }
          return head ? { reply: refusal(replies, refused), done: true } : { done: false };
        },
      };
    },
    // Mid-session the relay on the agent owns the framing; an ended session is reset.
    watch: (): SessionWatch => ({
      fromClient: () => undefined,
      toClient: () => undefined,
      ending: () => undefined,
    }),
  };
}

export const httpConnectionRefuser = httpRefuser(Protocol.HTTP, httpReplies);

import { OpenFailureCode } from '@tollgate/proto';
import { ApiError } from '../../common/errors';

const FAILURES: Record<OpenFailureCode, { status: number; title: string; reason: string }> = {
  [OpenFailureCode.NOT_FOUND]: { status: 404, title: 'Not Found', reason: 'not found' },
  [OpenFailureCode.DENIED]: { status: 403, title: 'Forbidden', reason: 'denied' },
  [OpenFailureCode.AGENT_OFFLINE]: { status: 503, title: 'Service Unavailable', reason: 'agent offline' },
  [OpenFailureCode.TARGET_UNREACHABLE]: { status: 502, title: 'Bad Gateway', reason: 'target unreachable' },
  [OpenFailureCode.INTERNAL]: { status: 503, title: 'Service Unavailable', reason: 'internal error' },
  [OpenFailureCode.UNSPECIFIED]: { status: 503, title: 'Service Unavailable', reason: 'failed' },
  [OpenFailureCode.UNRECOGNIZED]: { status: 503, title: 'Service Unavailable', reason: 'failed' },
};

/** A session the gateway opened for an HTTP caller did not open; `reason` is what `tollgate connect` says. */
export class SessionNotOpenedError extends ApiError {
  readonly status: number;
  readonly title: string;
  readonly type = 'https://tollgate.dev/problems/session-not-opened';
  override readonly extensions: Readonly<Record<string, unknown>>;

  constructor(code: OpenFailureCode, message: string) {
    const failure = FAILURES[code];
    super(`${failure.reason}: ${message}`);
    this.name = 'SessionNotOpenedError';
    this.status = failure.status;
    this.title = failure.title;
    this.extensions = { reason: failure.reason };
  }

  static reasonOf(code: OpenFailureCode): string {
    return FAILURES[code].reason;
  }
}

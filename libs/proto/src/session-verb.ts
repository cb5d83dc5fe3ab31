import { SessionVerb } from './generated/tollgate/v1/session';

/** The verbs a session can be opened for, by name (as policy and audit records name them). */
export type SessionVerbName = 'connect' | 'exec';

/**
 * The verb a session is for: unspecified (a client or gateway that predates the field) means
 * `connect`; a value this build does not know means none, and the session must be refused.
 */
export function sessionVerbName(verb: SessionVerb | undefined): SessionVerbName | undefined {
  switch (verb) {
    case undefined:
    case SessionVerb.UNSPECIFIED:
    case SessionVerb.CONNECT:
      return 'connect';
    case SessionVerb.EXEC:
      return 'exec';
    default:
      return undefined;
  }
}

export function sessionVerbCode(name: SessionVerbName): SessionVerb {
  return name === 'exec' ? SessionVerb.EXEC : SessionVerb.CONNECT;
}

import { randomInt } from 'node:crypto';

/** A connection id for a client's greeting: random, 31 bits (clients that read it signed stay positive). */
export function drawConnectionId(): number {
  return randomInt(1, 2 ** 31 - 1);
}

/** What a client's KILL on another connection can do to a session it names. */
export interface KillableSession {
  /** Stops the statement the session runs at the target (KILL QUERY); `reason` goes to its result. */
  killQuery(reason: string): void;
  /** Ends the session (KILL CONNECTION): its statement is stopped and both legs close. */
  killConnection(reason: string): void;
}

interface Entry {
  readonly owner: string;
  session: KillableSession | undefined;
}

/**
 * The connection ids Tollgate gives its MySQL clients in the greeting, instead of the server's
 * thread ids (which are sequential and shared by everyone who reaches the target as the
 * connection's user). A client's `KILL [QUERY|CONNECTION] <id>` (the mariadb CLI's Ctrl+C sends
 * one on a new connection) is answered from here: it reaches the session the id was given to, and
 * only when the killing session has the same owner (subject and connection). A session's server
 * thread id (what its `CONNECTION_ID()` says, which programs and test suites KILL) names it too,
 * again only to its owner; any other id, another owner's thread included, is unknown, and nothing
 * is sent to the server.
 */
export class ConnectionIds {
  private readonly entries = new Map<number, Entry>();
  /** Server thread ids of sessions, per owner (`owner` NUL `thread`). */
  private readonly threads = new Map<string, Entry>();

  /**
   * Reserves an id for a session of `owner`: `wanted` (the id the gateway's listener already
   * greeted the client with) when it is free, else a new one. `attach` once the session can be
   * killed, with its server thread id; `release` when it ends.
   */
  reserve(
    owner: string,
    wanted?: number,
  ): { id: number; attach: (session: KillableSession, thread?: number) => void; release: () => void } {
    let id = wanted && wanted > 0 && !this.entries.has(wanted) ? wanted : drawConnectionId();
    while (this.entries.has(id)) id = drawConnectionId();
    const entry: Entry = { owner, session: undefined };
    this.entries.set(id, entry);
    let threadKey: string | undefined;
    return {
      id,
      attach: (session, thread) => {
        entry.session = session;
        if (thread === undefined || thread <= 0) return;
        threadKey = `${owner}\u0000${thread}`;
        this.threads.set(threadKey, entry);
      },
      release: () => {
        if (this.entries.get(id) === entry) this.entries.delete(id);
        if (threadKey !== undefined && this.threads.get(threadKey) === entry) this.threads.delete(threadKey);
      },
    };
  }

  /**
   * The session `id` names, when `owner` owns it: the id its client was greeted with, else its
   * server thread id (undefined otherwise: an unknown id).
   */
  find(id: number, owner: string): KillableSession | undefined {
    const entry = this.entries.get(id);
    if (entry?.owner === owner && entry.session) return entry.session;
    return this.threads.get(`${owner}\u0000${id}`)?.session;
  }
}

/** A client's KILL statement: `KILL [HARD|SOFT] [QUERY|CONNECTION] <id>`, alone in its query. */
export interface KillStatement {
  readonly kind: 'query' | 'connection';
  readonly id: number;
}

const KILL = /^\s*KILL\s+(?:(?:HARD|SOFT)\s+)?(?:(QUERY)\s+|CONNECTION\s+)?(\d{1,20})\s*;?\s*$/i;

/**
 * Reads a query that is one plain KILL of a connection id, as clients send to stop a statement.
 * Undefined for anything else (a KILL inside a longer text, of a query id, or of a user is
 * classified and decided as any other statement).
 */
export function readKillStatement(sql: string): KillStatement | undefined {
  const match = KILL.exec(sql);
  if (!match) return undefined;
  return { kind: match[1] ? 'query' : 'connection', id: Number(match[2]) };
}

/** A client's KILL whose id is an expression (`KILL QUERY @id`): the server evaluates it first. */
export interface KillExpression {
  readonly kind: 'query' | 'connection';
  /** The expression's text, as the client wrote it. */
  readonly expression: string;
}

const KILL_EXPRESSION =
  /^\s*KILL\s+(?:(?:HARD|SOFT)\s+)?(?:(QUERY)\b\s*|CONNECTION\b\s*)?([\s\S]*?)\s*;?\s*$/i;

/**
 * Reads a query that is one KILL of a connection id given as an expression (a user variable, a
 * function, arithmetic, a subquery), as MariaDB's grammar allows. Undefined for a plain id (see
 * readKillStatement), a query id (`KILL QUERY ID`), a user (`KILL USER`) or anything else.
 */
export function readKillExpression(sql: string): KillExpression | undefined {
  if (readKillStatement(sql)) return undefined;
  const match = KILL_EXPRESSION.exec(sql);
  if (!match) return undefined;
  const expression = match[2] ?? '';
  if (expression === '' || /^USER\b/i.test(expression) || (match[1] && /^ID\b/i.test(expression)))
    return undefined;
  return { kind: match[1] ? 'query' : 'connection', expression };
}

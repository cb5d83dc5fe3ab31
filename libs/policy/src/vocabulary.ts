/** What a role may let its subjects do. */
export const VERBS = ['connect', 'exec', 'admin', 'audit:read', 'review', 'register', 'forward'] as const;
export type Verb = (typeof VERBS)[number];

/**
 * Verbs that act on named resources, so a role granting them must name them in `connections`:
 * connect and exec a connection; register (create, update, delete) connections and agents whose
 * names or tags (an agent's labels) its selectors match; forward: SSH port forwarding (-L, -W, -R)
 * in a session on the connection, which is refused without it.
 */
export const CONNECTION_VERBS: readonly Verb[] = ['connect', 'exec', 'register', 'forward'];

export const PROTOCOLS = ['postgres', 'mysql', 'ssh', 'kubernetes', 'http', 'tcp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/**
 * Protocols whose agent engine runs `exec` sessions (one request, then the session ends). Other
 * protocols are reached with `connect` only; an exec open on them is refused before any agent is asked.
 */
export const EXEC_PROTOCOLS: readonly Protocol[] = ['postgres', 'mysql', 'ssh'];

/**
 * SQL statement families: the first keyword of a statement type as protocol engines report it
 * (`DROP`, or `DROP INDEX`, `CREATE TABLE`, `COPY FROM`, `TRANSACTION`; MySQL's REPLACE, USE, LOAD
 * and HANDLER included). A statement whose first keyword is outside this list is "unclassified".
 */
export const STATEMENT_TYPES = [
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'MERGE',
  'REPLACE',
  'COPY',
  'LOAD',
  'CREATE',
  'ALTER',
  'DROP',
  'TRUNCATE',
  'RENAME',
  'COMMENT',
  'GRANT',
  'REVOKE',
  'BEGIN',
  'START',
  'COMMIT',
  'ROLLBACK',
  'SAVEPOINT',
  'RELEASE',
  'TRANSACTION',
  'SET',
  'RESET',
  'SHOW',
  'EXPLAIN',
  'ANALYZE',
  'VACUUM',
  'REINDEX',
  'CLUSTER',
  'REFRESH',
  'LOCK',
  'CALL',
  'DO',
  'EXECUTE',
  'PREPARE',
  'DEALLOCATE',
  'DECLARE',
  'FETCH',
  'CLOSE',
  'LISTEN',
  'NOTIFY',
  'UNLISTEN',
  'DISCARD',
  'USE',
  'HANDLER',
  'CHECKPOINT',
  'SECURITY',
  'REASSIGN',
  'IMPORT',
] as const;
export type StatementType = (typeof STATEMENT_TYPES)[number];

/**
 * Named groups usable wherever a statement selector is: `statements: [DDL]`. Members cover as
 * selectors do (`COPY FROM` covers the type `COPY FROM`, not `COPY TO`).
 */
export const STATEMENT_GROUPS = {
  WRITE: [
    'INSERT',
    'UPDATE',
    'DELETE',
    'MERGE',
    'REPLACE',
    'LOAD',
    'COPY FROM',
    'SELECT INTO',
    'CREATE TABLE AS',
  ],
  DDL: ['CREATE', 'ALTER', 'DROP', 'TRUNCATE', 'RENAME', 'COMMENT'],
  DCL: ['GRANT', 'REVOKE'],
} as const satisfies Record<string, readonly string[]>;
export type StatementGroup = keyof typeof STATEMENT_GROUPS;

/**
 * A statement selector in a policy: `*`, a group (`WRITE`, `DDL`, `DCL`), a family (`DROP`, which
 * covers `DROP`, `DROP INDEX`, `DROP DATABASE`, ...) or a more specific type (`DROP DATABASE`,
 * `COPY FROM`), which covers that type and its longer forms (`CREATE TABLE` covers `CREATE TABLE AS`).
 */
export type StatementSelector = string;

export function isStatementGroup(selector: string): selector is StatementGroup {
  return Object.hasOwn(STATEMENT_GROUPS, selector);
}

/** The family (first keyword, upper case) of a statement type, or null when it is not a known one. */
export function statementFamily(type: string): StatementType | null {
  const first = type.trim().split(/\s+/, 1)[0]?.toUpperCase() ?? '';
  return (STATEMENT_TYPES as readonly string[]).includes(first) ? (first as StatementType) : null;
}

/** Normalizes an engine's statement type: upper case, single spaces. */
export function normalizeStatementType(type: string): string {
  return type.trim().toUpperCase().replace(/\s+/g, ' ');
}

/** Does a selector cover a (normalized) statement type? */
export function selectorCovers(selector: StatementSelector, type: string): boolean {
  if (selector === '*') return true;
  if (isStatementGroup(selector))
    return STATEMENT_GROUPS[selector].some((member) => selectorCovers(member, type));
  return type === selector || type.startsWith(`${selector} `);
}

/**
 * Statements a read-only session may run, as selectors. Everything else is a write, including SET
 * and RESET (they can turn off `default_transaction_read_only` or switch roles), COPY unless its
 * direction is TO, CALL/DO/EXECUTE (they run code the gateway cannot see) and anything
 * unclassified. A statement in this list still counts as a write when it is in the WRITE group
 * (`SELECT INTO`) or when the engine reports `readOnly: false` (`SELECT ... FOR UPDATE`).
 */
export const READ_ONLY_STATEMENTS: readonly StatementSelector[] = [
  'SELECT',
  'SHOW',
  'EXPLAIN',
  'BEGIN',
  'START',
  'COMMIT',
  'ROLLBACK',
  'SAVEPOINT',
  'RELEASE',
  'TRANSACTION',
  'DECLARE',
  'FETCH',
  'CLOSE',
  'COPY TO',
];

/**
 * Kinds of opaque code: what a statement makes the server run that its own text does not show (a DO
 * block's body, a function created to run later, a trigger attached to writes, a library loaded, a
 * query string run by a function, ...). Engines report them per statement; under a guardrail that
 * inspects SQL they are denied unless an applicable guardrail names them in `allow: {opaque: [...]}`.
 * The PostgreSQL engine's finder (libs/protocols/postgres/src/sql/opaque-code.ts) documents each.
 */
export const OPAQUE_KINDS = [
  'DO',
  'CALL',
  'CREATE FUNCTION',
  'CREATE PROCEDURE',
  'ALTER FUNCTION',
  'ALTER PROCEDURE',
  'ALTER ROUTINE',
  'CREATE TRIGGER',
  'CREATE EVENT TRIGGER',
  'CREATE RULE',
  'CREATE AGGREGATE',
  'CREATE OPERATOR',
  'CREATE CAST',
  'CREATE TYPE',
  'CREATE CONVERSION',
  'CREATE TRANSFORM',
  'CREATE OPERATOR CLASS',
  'ALTER OPERATOR FAMILY',
  'ALTER TYPE',
  'ALTER OPERATOR',
  'CREATE TEXT SEARCH PARSER',
  'CREATE TEXT SEARCH TEMPLATE',
  'CREATE LANGUAGE',
  'CREATE ACCESS METHOD',
  'CREATE FOREIGN DATA WRAPPER',
  'ALTER FOREIGN DATA WRAPPER',
  'CREATE EXTENSION',
  'ALTER EXTENSION',
  'LOAD',
  'COPY PROGRAM',
  'DYNAMIC SQL',
  'CODE SETTING',
  'EXECUTE',
  'FUNCTION CALL',
  'UNPARSED',
  // MySQL/MariaDB: events (scheduled code), server files (INTO OUTFILE/DUMPFILE, LOAD_FILE, LOAD
  // DATA), user variables assigned from tables (values that outlive the statement, past masking).
  'CREATE EVENT',
  'FILE ACCESS',
  'USER VARIABLE',
] as const;
export type OpaqueKind = (typeof OPAQUE_KINDS)[number];

/** Statements that `require_where` can apply to. */
export const WHERE_STATEMENTS = ['UPDATE', 'DELETE'] as const;
export type WhereStatement = (typeof WHERE_STATEMENTS)[number];

/** Kubernetes verbs a read-only session may use. */
export const KUBERNETES_READ_VERBS: ReadonlySet<string> = new Set(['get', 'list', 'watch']);
/** HTTP methods a read-only session may use. */
export const HTTP_READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export const BUILTIN_DETECTORS = ['email', 'phone', 'credit_card', 'ssn', 'iban', 'ip_address'] as const;
export type BuiltinDetector = (typeof BUILTIN_DETECTORS)[number];

/** What a role may let its subjects do. */
export const VERBS = ['connect', 'exec', 'admin', 'audit:read', 'review'] as const;
export type Verb = (typeof VERBS)[number];

/** Verbs that act on a connection, so a role granting them must name connections. */
export const CONNECTION_VERBS: readonly Verb[] = ['connect', 'exec'];

export const PROTOCOLS = ['postgres', 'mysql', 'ssh', 'kubernetes', 'http', 'tcp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/**
 * SQL statement types as protocol engines classify them (the first keyword of the statement, with
 * MySQL's REPLACE/USE/LOAD/HANDLER included). A type outside this list is "unclassified".
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
] as const;
export type StatementType = (typeof STATEMENT_TYPES)[number];

/** Named groups usable wherever a statement type is: `statements: [DDL]`. */
export const STATEMENT_GROUPS = {
  WRITE: ['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'REPLACE', 'COPY', 'LOAD'],
  DDL: ['CREATE', 'ALTER', 'DROP', 'TRUNCATE', 'RENAME', 'COMMENT'],
  DCL: ['GRANT', 'REVOKE'],
} as const satisfies Record<string, readonly StatementType[]>;
export type StatementGroup = keyof typeof STATEMENT_GROUPS;

export type StatementSelector = StatementType | StatementGroup | '*';
export const STATEMENT_SELECTORS: readonly StatementSelector[] = [
  '*',
  ...(Object.keys(STATEMENT_GROUPS) as StatementGroup[]),
  ...STATEMENT_TYPES,
];

/**
 * Statements a read-only session may run. Everything else is a write, including SET/RESET (they can
 * turn off `default_transaction_read_only` or switch roles), COPY (either direction: the fact does
 * not say which), CALL/DO/EXECUTE (they run code the gateway cannot see) and anything unclassified.
 */
export const READ_ONLY_STATEMENTS: ReadonlySet<StatementType> = new Set<StatementType>([
  'SELECT',
  'SHOW',
  'EXPLAIN',
  'BEGIN',
  'START',
  'COMMIT',
  'ROLLBACK',
  'SAVEPOINT',
  'RELEASE',
  'DECLARE',
  'FETCH',
  'CLOSE',
]);

/** Statements that `require_where` can apply to. */
export const WHERE_STATEMENTS = ['UPDATE', 'DELETE'] as const;
export type WhereStatement = (typeof WHERE_STATEMENTS)[number];

/** Kubernetes verbs a read-only session may use. */
export const KUBERNETES_READ_VERBS: ReadonlySet<string> = new Set(['get', 'list', 'watch']);
/** HTTP methods a read-only session may use. */
export const HTTP_READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export const BUILTIN_DETECTORS = ['email', 'phone', 'credit_card', 'ssn', 'iban', 'ip_address'] as const;
export type BuiltinDetector = (typeof BUILTIN_DETECTORS)[number];

export function expandStatementSelector(selector: StatementSelector): readonly StatementType[] {
  if (selector === '*') return STATEMENT_TYPES;
  if (selector in STATEMENT_GROUPS) return STATEMENT_GROUPS[selector as StatementGroup];
  return [selector as StatementType];
}

export function isStatementType(value: string): value is StatementType {
  return (STATEMENT_TYPES as readonly string[]).includes(value);
}

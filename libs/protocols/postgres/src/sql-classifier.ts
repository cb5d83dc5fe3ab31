import { loadModule, parseSync } from 'libpg-query';

/**
 * What a policy needs to know about one SQL statement. Produced by the real PostgreSQL parser
 * (libpg-query, the server's own grammar compiled to WebAssembly), never by pattern matching.
 */
export interface SqlStatementFacts {
  /** Upper-case statement kind: SELECT, INSERT, UPDATE, DELETE, DROP, TRUNCATE, CREATE TABLE, COPY, ... */
  readonly type: string;
  /** Tables (and other relations) the statement names, schema-qualified when written so. */
  readonly tables: readonly string[];
  /** For UPDATE and DELETE: whether a WHERE clause restricts the rows. */
  readonly hasWhere: boolean;
  /** False when the statement can change data or schema (directly or through a nested statement). */
  readonly readOnly: boolean;
  /** Set when this statement was found inside another (a data-modifying CTE, EXPLAIN ANALYZE). */
  readonly nestedIn?: string;
}

export type SqlClassification =
  | { readonly ok: true; readonly statements: readonly SqlStatementFacts[] }
  | { readonly ok: false; readonly error: string };

type Node = Record<string, unknown>;

const STATEMENT_TYPES: Record<string, string> = {
  SelectStmt: 'SELECT',
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
  DropStmt: 'DROP',
  TruncateStmt: 'TRUNCATE',
  CopyStmt: 'COPY',
  CreateStmt: 'CREATE TABLE',
  CreateTableAsStmt: 'CREATE TABLE AS',
  AlterTableStmt: 'ALTER TABLE',
  IndexStmt: 'CREATE INDEX',
  ViewStmt: 'CREATE VIEW',
  CreateSchemaStmt: 'CREATE SCHEMA',
  CreatedbStmt: 'CREATE DATABASE',
  DropdbStmt: 'DROP DATABASE',
  CreateRoleStmt: 'CREATE ROLE',
  AlterRoleStmt: 'ALTER ROLE',
  DropRoleStmt: 'DROP ROLE',
  GrantStmt: 'GRANT',
  GrantRoleStmt: 'GRANT',
  TransactionStmt: 'TRANSACTION',
  VariableSetStmt: 'SET',
  VariableShowStmt: 'SHOW',
  ExplainStmt: 'EXPLAIN',
  DoStmt: 'DO',
  CallStmt: 'CALL',
  CreateFunctionStmt: 'CREATE FUNCTION',
  RenameStmt: 'RENAME',
  VacuumStmt: 'VACUUM',
  PrepareStmt: 'PREPARE',
  ExecuteStmt: 'EXECUTE',
  DeallocateStmt: 'DEALLOCATE',
  ListenStmt: 'LISTEN',
  NotifyStmt: 'NOTIFY',
  UnlistenStmt: 'UNLISTEN',
  LockStmt: 'LOCK',
  DeclareCursorStmt: 'DECLARE',
  FetchStmt: 'FETCH',
  ClosePortalStmt: 'CLOSE',
  DiscardStmt: 'DISCARD',
};

/** Kinds that never change data or schema by themselves. */
const READ_ONLY_TYPES = new Set([
  'SELECT',
  'SHOW',
  'EXPLAIN',
  'LISTEN',
  'UNLISTEN',
  'FETCH',
  'CLOSE',
  'DEALLOCATE',
  'DISCARD',
  'DECLARE',
  'PREPARE',
  'TRANSACTION',
  'SET',
]);

/** Statements that modify data and may appear nested (WITH ... AS (DELETE ...), EXPLAIN ANALYZE ...). */
const NESTABLE_WRITES = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

let ready: Promise<void> | undefined;

/** Loads the parser's WebAssembly module once per process. */
export function loadSqlClassifier(): Promise<void> {
  return (ready ??= loadModule());
}

/**
 * Splits a query string into statements and classifies each. A string the parser rejects is
 * reported as an error (never guessed at): policy denies it wherever a rule depends on
 * classification. Call loadSqlClassifier() first.
 */
export function classifySql(sql: string): SqlClassification {
  // Clients repeat statements (an ORM's unnamed Parse per query, a pooled app's few query shapes):
  // the same text always classifies the same, so recent answers are kept (bounded, LRU).
  if (sql.length > MAX_CACHED_SQL_LENGTH) return classifyUncached(sql);
  const cached = cache.get(sql);
  if (cached) {
    cache.delete(sql);
    cache.set(sql, cached);
    return cached;
  }
  // Frozen: every caller of this text shares the object.
  const classification = deepFreeze(classifyUncached(sql));
  cache.set(sql, classification);
  if (cache.size > MAX_CACHED_STATEMENTS) cache.delete(cache.keys().next().value as string);
  return classification;
}

const MAX_CACHED_STATEMENTS = 2048;
const MAX_CACHED_SQL_LENGTH = 4096;
const cache = new Map<string, SqlClassification>();

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function classifyUncached(sql: string): SqlClassification {
  let parsed: { stmts?: { stmt: Node }[] };
  try {
    parsed = parseSync(sql) as { stmts?: { stmt: Node }[] };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  const statements: SqlStatementFacts[] = [];
  for (const { stmt } of parsed.stmts ?? []) statements.push(...classifyStatement(stmt));
  return { ok: true, statements };
}

function classifyStatement(stmt: Node, nestedIn?: string): SqlStatementFacts[] {
  const [kind, body] = Object.entries(stmt)[0] as [string, Node];
  const type = statementType(kind, body);
  const nested: SqlStatementFacts[] = [];

  // Data-modifying statements hidden inside this one count as statements of their own.
  if (kind === 'ExplainStmt') {
    // EXPLAIN only plans its statement; EXPLAIN ANALYZE runs it.
    if (explainExecutes(body)) nested.push(...classifyStatement(body['query'] as Node, type));
  } else {
    for (const inner of findNested(body)) nested.push(...classifyStatement(inner, type));
  }

  const cteNames = new Set(collectCteNames(body));
  const tables =
    kind === 'DropStmt' || kind === 'TruncateStmt'
      ? droppedObjects(kind, body)
      : kind === 'ExplainStmt'
        ? []
        : collectRelations(body);
  const facts: SqlStatementFacts = {
    type,
    tables: [...new Set(tables.filter((t) => !cteNames.has(t)))],
    hasWhere: body['whereClause'] !== undefined,
    readOnly: isReadOnly(type, body) && nested.every((n) => n.readOnly),
    ...(nestedIn ? { nestedIn } : {}),
  };
  return [facts, ...nested];
}

function statementType(kind: string, body: Node): string {
  if (kind === 'DropStmt') {
    const removeType = text(body['removeType'], 'OBJECT_TABLE')
      .replace(/^OBJECT_/, '')
      .replace(/_/g, ' ');
    return removeType === 'TABLE' ? 'DROP' : `DROP ${removeType}`;
  }
  if (kind === 'CopyStmt') return body['is_from'] ? 'COPY FROM' : 'COPY TO';
  if (kind === 'GrantStmt' && body['is_grant'] !== true) return 'REVOKE';
  if (kind === 'SelectStmt' && body['intoClause']) return 'SELECT INTO';
  return (
    STATEMENT_TYPES[kind] ??
    kind
      .replace(/Stmt$/, '')
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .toUpperCase()
  );
}

function isReadOnly(type: string, body: Node): boolean {
  if (type === 'SELECT') return body['lockingClause'] === undefined;
  if (type === 'COPY TO') return body['query'] === undefined || isReadOnlyQuery(body['query'] as Node);
  if (type === 'EXPLAIN') return true; // the nested statement decides when ANALYZE executes it
  return READ_ONLY_TYPES.has(type);
}

function isReadOnlyQuery(query: Node): boolean {
  const [kind, body] = Object.entries(query)[0] as [string, Node];
  return kind === 'SelectStmt' && body['lockingClause'] === undefined && findNested(body).length === 0;
}

function explainExecutes(body: Node): boolean {
  const options = (body['options'] as Node[] | undefined) ?? [];
  return options.some((option) => {
    const def = option['DefElem'] as Node | undefined;
    if (def?.['defname'] !== 'analyze') return false;
    const arg = def['arg'] as Node | undefined;
    // EXPLAIN (ANALYZE false) does not execute.
    const value =
      (arg?.['Boolean'] as Node | undefined)?.['boolval'] ?? (arg?.['String'] as Node | undefined)?.['sval'];
    return value === undefined || value === true || value === 'true' || value === 'on';
  });
}

/** Data-modifying statements nested anywhere below (e.g. in CTEs). */
function findNested(body: unknown): Node[] {
  const found: Node[] = [];
  walk(body, (key, value) => {
    if (NESTABLE_WRITES.has(key)) {
      found.push({ [key]: value });
      return false;
    }
    return true;
  });
  return found;
}

function collectRelations(body: unknown): string[] {
  const names: string[] = [];
  walk(body, (key, value) => {
    if (NESTABLE_WRITES.has(key)) return false; // counted with the nested statement
    // Relations appear as RangeVar nodes, and as the bare `relation` of INSERT/UPDATE/DELETE/COPY.
    if (
      key === 'RangeVar' ||
      (key === 'relation' && typeof (value as Node | null)?.['relname'] === 'string')
    ) {
      const range = value as Node;
      const relname = text(range['relname']);
      names.push(range['schemaname'] ? `${text(range['schemaname'])}.${relname}` : relname);
    }
    return true;
  });
  return names;
}

function collectCteNames(body: Node): string[] {
  const ctes = ((body['withClause'] as Node | undefined)?.['ctes'] as Node[] | undefined) ?? [];
  return ctes.map((cte) => text((cte['CommonTableExpr'] as Node)['ctename']));
}

function droppedObjects(kind: string, body: Node): string[] {
  if (kind === 'TruncateStmt') return collectRelations(body);
  const objects = (body['objects'] as Node[] | undefined) ?? [];
  return objects.map((object) => {
    const items = ((object['List'] as Node | undefined)?.['items'] as Node[] | undefined) ?? [object];
    return items.map((item) => text((item['String'] as Node | undefined)?.['sval'], '?')).join('.');
  });
}

/** Depth-first walk over a JSON AST; the visitor returns false to skip a subtree. */
function walk(node: unknown, visit: (key: string, value: unknown) => boolean): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  for (const [key, value] of Object.entries(node as Node)) {
    if (visit(key, value)) walk(value, visit);
  }
}

function text(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

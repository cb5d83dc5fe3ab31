import type { SqlLineageFacts } from '@tollgate/policy';
import { loadModule } from 'libpg-query';
import { findAll, names, text, walk, type Node } from './sql/ast';
import { opaqueKinds } from './sql/opaque-code';
import { parseStatements } from './sql/parse-tree';
import { analysisKey } from './sql/statement-shape';
import { statementType } from './sql/statement-type';
import { whereRestricts } from './sql/where-restriction';

/**
 * What a policy needs to know about one SQL statement. Produced by the real PostgreSQL parser
 * (libpg-query, the server's own grammar compiled to WebAssembly), never by pattern matching.
 */
export interface SqlStatementFacts {
  /** Upper-case statement kind: SELECT, INSERT, UPDATE, DELETE, DROP, TRUNCATE, CREATE TABLE, COPY, ... */
  readonly type: string;
  /** Tables (and other relations) the statement names, schema-qualified when written so. */
  readonly tables: readonly string[];
  /**
   * For UPDATE and DELETE: whether a WHERE clause restricts the rows (one that could be true for
   * every row, such as `WHERE true` or `WHERE id = id`, does not: see sql/where-restriction.ts).
   */
  readonly hasWhere: boolean;
  /** False when the statement can change data or schema (directly or through a nested statement). */
  readonly readOnly: boolean;
  /** Set when this statement was found inside another (a data-modifying CTE, EXPLAIN ANALYZE, PREPARE). */
  readonly nestedIn?: string;
  /**
   * Kinds of opaque code the statement runs or installs (see OPAQUE_KINDS): code the guardrails
   * cannot see from the SQL sent. Absent when there is none.
   */
  readonly opaque?: readonly string[];
  /** PREPARE: the name it prepares (its statement follows as the facts nested in PREPARE). */
  readonly prepares?: string;
  /** EXECUTE: the name of the prepared statement it runs. */
  readonly executes?: string;
  /** DEALLOCATE name: the name it frees; `deallocatesAll` for DEALLOCATE ALL and DISCARD ALL. */
  readonly deallocates?: string;
  readonly deallocatesAll?: true;
  /**
   * The statement may change how the server reads later SQL text (client_encoding,
   * standard_conforming_strings: SET, RESET, set_config, or code that could call it).
   */
  readonly changesSqlReading?: true;
  /** Where its values come from and go (added by the session when masking traces lineage). */
  readonly lineage?: SqlLineageFacts;
}

export type SqlClassification =
  | { readonly ok: true; readonly statements: readonly SqlStatementFacts[] }
  | { readonly ok: false; readonly error: string };

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

/**
 * Statements that run inside another and count on their own: data-modifying CTEs (WITH ... AS
 * (DELETE ...)), and EXECUTE of a prepared statement (CREATE TABLE AS EXECUTE ...).
 */
const NESTABLE_WRITES = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt', 'ExecuteStmt']);

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
  // A text that differs from one classified before only in constants no rule reads (pgbench's
  // simple protocol, inlined parameters) classifies the same: see statement-shape.ts.
  const key = analysisKey(sql);
  const shaped = key === undefined ? undefined : byShape.get(key);
  if (shaped) {
    byShape.delete(key as string);
    byShape.set(key as string, shaped);
    return shaped;
  }
  // Frozen: every caller of this text shares the object.
  const classification = deepFreeze(classifyUncached(sql));
  remember(cache, sql, classification);
  if (key !== undefined) remember(byShape, key, classification);
  return classification;
}

const MAX_CACHED_STATEMENTS = 2048;
const MAX_CACHED_SQL_LENGTH = 4096;
const cache = new Map<string, SqlClassification>();
const byShape = new Map<string, SqlClassification>();

function remember(map: Map<string, SqlClassification>, key: string, value: SqlClassification): void {
  map.set(key, value);
  if (map.size > MAX_CACHED_STATEMENTS) map.delete(map.keys().next().value as string);
}

/** Drops every cached classification (for measuring uncached work, and in tests). */
export function clearClassificationCache(): void {
  cache.clear();
  byShape.clear();
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function classifyUncached(sql: string): SqlClassification {
  // The tree is cached for the lineage analysis, which reads the same text next under column masking.
  const parsed = parseStatements(sql);
  if (typeof parsed === 'string') return { ok: false, error: parsed };
  const statements: SqlStatementFacts[] = [];
  for (const stmt of parsed) statements.push(...classifyStatement(stmt, cteBodies(stmt)));
  return { ok: true, statements };
}

/** Every CTE of a statement by name (nested WITHs included), for telling what reads a table. */
function cteBodies(stmt: Node): Map<string, Node[]> {
  const ctes = new Map<string, Node[]>();
  for (const cte of findAll(stmt, 'CommonTableExpr')) {
    const name = text(cte['ctename']);
    ctes.set(name, [...(ctes.get(name) ?? []), cte['ctequery'] as Node]);
  }
  return ctes;
}

function classifyStatement(
  stmt: Node,
  ctes: ReadonlyMap<string, Node[]>,
  nestedIn?: string,
): SqlStatementFacts[] {
  const [kind, body] = Object.entries(stmt)[0] as [string, Node];
  const type = statementType(kind, body);
  const nested: SqlStatementFacts[] = [];

  // Statements hidden inside this one that run count as statements of their own.
  if (kind === 'ExplainStmt') {
    // EXPLAIN only plans its statement; EXPLAIN ANALYZE runs it.
    if (explainExecutes(body)) nested.push(...classifyStatement(body['query'] as Node, ctes, type));
  } else if (kind === 'PrepareStmt') {
    // What EXECUTE will run: decided now, and again from these facts at each EXECUTE.
    nested.push(...classifyStatement(body['query'] as Node, ctes, type));
  } else {
    for (const inner of findNested(body)) nested.push(...classifyStatement(inner, ctes, type));
  }
  if (kind === 'MergeStmt') nested.push(...mergeActions(body, ctes));

  const cteNames = new Set(collectCteNames(body));
  const tables =
    kind === 'DropStmt' || kind === 'TruncateStmt'
      ? droppedObjects(kind, body)
      : kind === 'ExplainStmt' || kind === 'PrepareStmt'
        ? []
        : collectRelations(body);
  // A PREPARE's own code is its statement's, reported with the nested facts.
  const opaque = kind === 'PrepareStmt' ? [] : opaqueKinds(kind, body);
  const facts: SqlStatementFacts = {
    type,
    tables: [...new Set(tables.filter((t) => !cteNames.has(t)))],
    hasWhere:
      kind === 'UpdateStmt' || kind === 'DeleteStmt'
        ? whereRestricts(kind, body, ctes)
        : body['whereClause'] !== undefined,
    // Opaque code can do anything, writes included.
    readOnly: opaque.length === 0 && isReadOnly(type, body) && nested.every((n) => n.readOnly),
    ...(nestedIn ? { nestedIn } : {}),
    ...(opaque.length > 0 ? { opaque } : {}),
    ...preparedStatementFacts(kind, body),
    ...(opaque.length > 0 || changesSqlReading(kind, body) ? { changesSqlReading: true as const } : {}),
  };
  return [facts, ...nested];
}

/**
 * A MERGE's UPDATE and DELETE actions are an UPDATE or DELETE of the target rows they reach, so
 * guardrails on those statements (require_where, deny) apply to them: `MERGE INTO t USING (SELECT 1)
 * s ON true WHEN MATCHED THEN DELETE` deletes every row, as `DELETE FROM t` does. A WHEN MATCHED
 * action reaches the rows `DELETE FROM t USING source WHERE on_condition AND when_condition` would;
 * a WHEN NOT MATCHED BY SOURCE action, with no source row, those its own condition alone picks.
 */
function mergeActions(body: Node, ctes: ReadonlyMap<string, readonly Node[]>): SqlStatementFacts[] {
  const actions: SqlStatementFacts[] = [];
  const relation = body['relation'] as Node;
  const target = relation['schemaname']
    ? `${text(relation['schemaname'])}.${text(relation['relname'])}`
    : text(relation['relname']);
  for (const item of (body['mergeWhenClauses'] as Node[] | undefined) ?? []) {
    const when = item['MergeWhenClause'] as Node | undefined;
    if (!when) continue;
    const command = text(when['commandType']);
    if (command !== 'CMD_UPDATE' && command !== 'CMD_DELETE') continue;
    const matchKind = text(when['matchKind']);
    const bySource = matchKind === 'MERGE_WHEN_NOT_MATCHED_BY_SOURCE';
    const conditions = [bySource ? undefined : body['joinCondition'], when['condition']].filter(
      (c): c is Node => c !== undefined,
    );
    const where =
      conditions.length === 0
        ? undefined
        : conditions.length === 1
          ? conditions[0]
          : { BoolExpr: { boolop: 'AND_EXPR', args: conditions } };
    const kind = command === 'CMD_UPDATE' ? 'UpdateStmt' : 'DeleteStmt';
    const equivalent: Node = {
      relation,
      ...(where === undefined ? {} : { whereClause: where }),
      [kind === 'UpdateStmt' ? 'fromClause' : 'usingClause']: bySource ? [] : [body['sourceRelation']],
    };
    actions.push({
      type: kind === 'UpdateStmt' ? 'UPDATE' : 'DELETE',
      tables: [target],
      // An unknown match kind (a newer grammar) restricts nothing that can be shown.
      hasWhere:
        matchKind === 'MERGE_WHEN_MATCHED' || bySource ? whereRestricts(kind, equivalent, ctes) : false,
      readOnly: false,
      nestedIn: 'MERGE',
    });
  }
  return actions;
}

function preparedStatementFacts(kind: string, body: Node): Partial<SqlStatementFacts> {
  switch (kind) {
    case 'PrepareStmt':
      return { prepares: text(body['name']) };
    case 'ExecuteStmt':
      return { executes: text(body['name']) };
    case 'DeallocateStmt':
      return body['isall'] === true ? { deallocatesAll: true } : { deallocates: text(body['name']) };
    case 'DiscardStmt':
      return text(body['target']) === 'DISCARD_ALL' ? { deallocatesAll: true } : {};
    default:
      return {};
  }
}

/** Settings that decide how the server reads SQL text (and so whether this parser reads it alike). */
const READING_SETTINGS = new Set(['client_encoding', 'standard_conforming_strings']);

function changesSqlReading(kind: string, body: Node): boolean {
  if (kind === 'DiscardStmt') return text(body['target']) === 'DISCARD_ALL';
  const setsReading = (set: Node) =>
    text(set['kind']) === 'VAR_RESET_ALL' || READING_SETTINGS.has(text(set['name']).toLowerCase());
  let changes = kind === 'VariableSetStmt' && setsReading(body);
  walk(body, (key, value) => {
    if (changes) return false;
    if (key === 'VariableSetStmt') changes = setsReading(value as Node);
    else if (key === 'FuncCall')
      changes =
        names((value as Node)['funcname'])
          .at(-1)
          ?.toLowerCase() === 'set_config';
    return !changes;
  });
  return changes;
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

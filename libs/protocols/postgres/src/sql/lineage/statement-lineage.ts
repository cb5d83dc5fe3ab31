import { list, names, text, unwrap, walk, type Node } from '../ast';
import { parseStatements } from '../parse-tree';
import type {
  CopyFormat,
  LineageAnalysis,
  LineageCatalog,
  OutputLineage,
  RelationFacts,
  StatementLineage,
} from './lineage.types';
import {
  allSources,
  definitionFilters,
  expr,
  lineageContext,
  modifyLineage,
  queryLineage,
  relationLineage,
  Scope,
  selectLineage,
  type LineageContext,
  type QueryColumns,
} from './query-lineage';
import { toOutputs as coreOutputs, untraced, type LineageSource } from '@tollgate/masking';

/**
 * Lineage of every statement in a query string, from the PostgreSQL parser's tree and the catalog
 * facts `catalog` holds. When the catalog lacks facts the analysis needs, it says which (the caller
 * reads them from the target and asks again); meanwhile what they would tell counts as untraced. Pure: no I/O. A string the parser rejects has no
 * lineage at all (`unparsed`), which callers treat as untraced.
 */
export function analyzeLineage(sql: string, catalog: LineageCatalog): LineageAnalysis {
  const parsed = parseStatements(sql);
  if (typeof parsed === 'string') return { unparsed: parsed };
  const missing = {
    relations: new Map<string, { name: string; schema?: string }>(),
    functions: new Set<string>(),
  };
  const statements: StatementLineage[] = [];
  for (const stmt of parsed) {
    const ctx = lineageContext(catalog);
    const statement = statementLineage(stmt, ctx);
    const touched = touchedColumns(stmt, ctx);
    statements.push(touched.length > 0 ? { ...statement, touched } : statement);
    for (const [key, relation] of ctx.missingRelations) missing.relations.set(key, relation);
    for (const name of ctx.missingFunctions) missing.functions.add(name);
  }
  if (missing.relations.size === 0 && missing.functions.size === 0) return { statements };
  return {
    statements,
    missing: { relations: [...missing.relations.values()], functions: [...missing.functions] },
  };
}

/** Statements that change stored rows, also when a WITH of another statement holds them. */
const MODIFYING = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

/**
 * Statements that make the server evaluate nothing stored beyond what their lineage reads, but for
 * the data-modifying statements in their WITH.
 */
const TOUCHES_NOTHING = new Set([
  'SelectStmt',
  'DeclareCursorStmt',
  'FetchStmt',
  'ClosePortalStmt',
  'PrepareStmt',
  'ExecuteStmt',
  'DeallocateStmt',
  'VariableSetStmt',
  'VariableShowStmt',
  'TransactionStmt',
  'ListenStmt',
  'UnlistenStmt',
  'NotifyStmt',
  'DiscardStmt',
]);

/**
 * Every column of every relation a statement writes to or changes (DML, DDL, maintenance): the
 * server evaluates the stored rows there, and its errors quote them whatever the statement reads.
 * `CREATE INDEX ON customers ((ssn::int))`, `ALTER TABLE customers ADD CHECK (ssn::int > 0)` fail
 * with `invalid input syntax for type integer: "<ssn>"`; an UPDATE of another column fails so on a
 * CHECK made earlier; a foreign key's DETAIL quotes the key (`Key (ssn)=(<ssn>) is not present`).
 */
function touchedColumns(stmt: Node, ctx: LineageContext): LineageSource[] {
  const [kind, body] = unwrap(stmt) ?? ['?', {}];
  if (kind === 'PrepareStmt') return [];
  if (TOUCHES_NOTHING.has(kind)) {
    // A SELECT runs the INSERT, UPDATE, DELETE or MERGE of its WITH: they touch what they change
    // (`WITH x AS (UPDATE customers SET name = ... RETURNING id) SELECT * FROM x` fails on a CHECK
    // quoting the row).
    const touched = new Map<string, LineageSource>();
    walk(body, (key, value) => {
      if (!MODIFYING.has(key)) return true;
      for (const source of touchedColumns({ [key]: value }, ctx)) touched.set(JSON.stringify(source), source);
      return false;
    });
    return [...touched.values()];
  }
  const ctes = new Set<string>();
  const relations: { name: string; schema?: string }[] = [];
  // The table CREATE TABLE makes holds nothing yet (what it inherits or is a partition of does).
  const created = kind === 'CreateStmt' ? body['relation'] : undefined;
  walk(body, (key, value) => {
    if (value === created) return true;
    const node = value as Node | null;
    if (key === 'CommonTableExpr') ctes.add(text(node?.['ctename']));
    else if (
      (key === 'RangeVar' || key === 'relation' || key === 'relations') &&
      typeof node?.['relname'] === 'string'
    ) {
      const schema = node['schemaname'] === undefined ? undefined : text(node['schemaname']);
      relations.push({ name: text(node['relname']), ...(schema !== undefined ? { schema } : {}) });
    }
    return true;
  });
  const touched = new Map<string, LineageSource>();
  const seen = new Set<string>();
  const touch = (name: string, schema: string | undefined): void => {
    const key = `${schema ?? ''}\u0000${name}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (seen.size > MAX_REFERENCING_TABLES) {
      const source: LineageSource = { untraced: 'tables changed through foreign keys (too many)' };
      touched.set(JSON.stringify(source), source);
      return;
    }
    for (const source of allSources(relationLineage(name, schema, ctx)).toArray())
      touched.set(JSON.stringify(source), source);
    // A foreign key's action (CASCADE, SET NULL, SET DEFAULT) changes the rows of the tables that
    // refer to this one, now or at COMMIT, and their constraints' errors quote those rows whole.
    for (const relation of ctx.catalog.relations(name, schema) ?? [])
      for (const other of (relation as RelationFacts).referencedBy ?? []) touch(other.name, other.schema);
  };
  for (const { name, schema } of relations) {
    if (schema === undefined && ctes.has(name)) continue;
    touch(name, schema);
  }
  if (relations.length === 0 && EVERY_TABLE_WITHOUT_NAMES.has(kind)) {
    // `ANALYZE` alone computes every table's statistics (expressions of CREATE STATISTICS among
    // them: `(ssn::int)` fails quoting the value), `REINDEX DATABASE` every index's expressions.
    const source: LineageSource = { untraced: `${kind} of every table` };
    touched.set(JSON.stringify(source), source);
  }
  return [...touched.values()];
}

/** Maintenance that works on every table (of the database or a schema) when it names none. */
const EVERY_TABLE_WITHOUT_NAMES = new Set(['VacuumStmt', 'ClusterStmt', 'ReindexStmt']);

/** Past this many tables reached through foreign keys, what else they reach is untraced. */
const MAX_REFERENCING_TABLES = 64;

/** Statements whose rows are the plan or a setting, never values read from tables. */
const NO_TABLE_VALUES: OutputLineage = { columns: [] };

/** Statement kinds that change nothing the analysis reads from the catalog. */
const KEEPS_CATALOG = new Set([
  'SelectStmt',
  'InsertStmt',
  'UpdateStmt',
  'DeleteStmt',
  'MergeStmt',
  'CopyStmt',
  'DeclareCursorStmt',
  'FetchStmt',
  'ClosePortalStmt',
  'PrepareStmt',
  'ExecuteStmt',
  'DeallocateStmt',
  'ExplainStmt',
  'VariableSetStmt',
  'VariableShowStmt',
  'TransactionStmt',
  'ListenStmt',
  'UnlistenStmt',
  'NotifyStmt',
  'LockStmt',
  'CheckPointStmt',
  'VacuumStmt',
  'DiscardStmt',
  'CallStmt',
  'DoStmt',
]);

/** CREATE TEMP TABLE / VIEW / SEQUENCE / TABLE AS: a relation in the session's own pg_temp schema. */
function createsTemporary(kind: string, body: Node): boolean {
  const relation =
    kind === 'CreateStmt'
      ? body.relation
      : kind === 'ViewStmt'
        ? body.view
        : kind === 'CreateSeqStmt'
          ? body.sequence
          : kind === 'CreateTableAsStmt'
            ? (body.into as Node | undefined)?.rel
            : undefined;
  return (relation as Node | undefined)?.relpersistence === 't';
}

function statementLineage(stmt: Node, ctx: LineageContext): StatementLineage {
  const [kind, body] = unwrap(stmt) ?? ['?', {}];
  const base = KEEPS_CATALOG.has(kind)
    ? {}
    : createsTemporary(kind, body)
      ? { changesCatalog: true as const, temporary: true as const }
      : { changesCatalog: true as const };
  const finish = (outputs?: QueryColumns | OutputLineage): StatementLineage => ({
    ...base,
    ...(outputs ? { outputs: toOutputs(outputs) } : {}),
    written: ctx.written.toArray(),
    filtered: ctx.filtered.toArray(),
  });
  switch (kind) {
    case 'SelectStmt':
      return finish(selectLineage(body, undefined, ctx));
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      return finish(modifyLineage(kind, body, undefined, ctx));
    case 'CreateTableAsStmt': {
      // CREATE TABLE AS, CREATE MATERIALIZED VIEW, SELECT INTO: the result is stored.
      const query = body['query'];
      const stored =
        unwrap(query)?.[0] === 'ExecuteStmt'
          ? untraced('EXECUTE')
          : allSources(queryLineage(query, undefined, ctx));
      ctx.written.addAll(stored);
      return finish();
    }
    case 'CopyStmt':
      return { ...copyLineage(body, ctx), written: ctx.written.toArray(), filtered: ctx.filtered.toArray() };
    case 'DeclareCursorStmt': {
      // CURSOR_OPT_HOLD: the cursor outlives its transaction.
      const hold = ((body['options'] as number | undefined) ?? 0) & 0x20 ? { holds: true as const } : {};
      return {
        ...finish(queryLineage(body['query'], undefined, ctx)),
        declares: text(body['portalname']),
        ...hold,
      };
    }
    case 'ClosePortalStmt':
      // CLOSE ALL has no name.
      return { ...finish(), closes: body['portalname'] === undefined ? null : text(body['portalname']) };
    case 'FetchStmt':
      // MOVE returns no rows, but runs the cursor's query as FETCH does.
      return { ...finish(), fetches: text(body['portalname']) };
    case 'PrepareStmt': {
      // Nothing runs yet: EXECUTE runs what was prepared.
      // What EXECUTE runs touches what the prepared statement would (its errors quote those rows).
      const query = body['query'] as Node;
      const fresh = ctx.fresh();
      const statement = statementLineage(query, fresh);
      const touched = touchedColumns(query, fresh);
      const prepared = touched.length > 0 ? { ...statement, touched } : statement;
      return { written: [], filtered: [], prepares: text(body['name']), prepared };
    }
    case 'ExecuteStmt':
      return { written: [], filtered: [], executes: text(body['name']) };
    case 'ExplainStmt': {
      // EXPLAIN ANALYZE runs its statement: its writes and filters count, its rows are not returned.
      // Plain EXPLAIN runs nothing, but its row estimates come from the statistics of what it
      // filters on (`WHERE ssn LIKE 'zq7%'` is estimated at 1000 rows or at 1): its filters count.
      const inner = statementLineage(body['query'] as Node, ctx);
      const analyze = list(body['options']).some(
        (o) => text((o['DefElem'] as Node | undefined)?.['defname']) === 'analyze',
      );
      return analyze
        ? { ...inner, outputs: NO_TABLE_VALUES }
        : { written: [], filtered: inner.filtered, outputs: NO_TABLE_VALUES };
    }
    case 'VariableShowStmt':
      return finish(NO_TABLE_VALUES);
    case 'AlterTableStmt':
      alterTable(body, ctx);
      return withRenamed(finish(), cutFromTree(body, ctx));
    case 'RenameStmt':
      return withRenamed(finish(), renamedBy(body, ctx));
    case 'AlterObjectSchemaStmt':
      // ALTER TABLE/VIEW ... SET SCHEMA: a rule naming schema.table.column no longer matches.
      return withRenamed(
        finish(),
        RELATION_OBJECTS.has(text(body['objectType'])) ? relationSources(body['relation'], ctx) : undefined,
      );
    case 'CallStmt':
      return finish({ any: untraced('CALL') });
    case 'IndexStmt':
      // The expressions of an expression index count too: ANALYZE keeps their frequencies.
      definitionFilters(
        body['relation'] as Node,
        [
          body['whereClause'],
          ...list(body['indexParams']).map((p) => (p['IndexElem'] as Node | undefined)?.['expr']),
        ],
        ctx,
      );
      return finish();
    case 'ClusterStmt': {
      // CLUSTER rewrites a table in an index's order, which later reads show: it orders on the
      // index's columns, not known here (any of the table's; every clustered table without one).
      const relation = body['relation'] as Node | undefined;
      ctx.filtered.addAll(
        relation ? relationSources(relation, ctx) : untraced('CLUSTER of every clustered table').toArray(),
      );
      return finish();
    }
    case 'CreatePolicyStmt':
    case 'AlterPolicyStmt':
      definitionFilters(body['table'] as Node, [body['qual'], body['with_check']], ctx);
      return finish();
    case 'CreateStatsStmt':
      definitionFilters(
        list(body['relations']),
        list(body['exprs']).map((e) => (e['StatsElem'] as Node | undefined)?.['expr']),
        ctx,
      );
      return finish();
    default:
      return finish();
  }
}

/** Objects whose columns masking rules name: renaming or moving one changes what a rule matches. */
const RELATION_OBJECTS = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE']);

function withRenamed(
  statement: StatementLineage,
  renamed: readonly LineageSource[] | undefined,
): StatementLineage {
  return renamed && renamed.length > 0 ? { ...statement, renamed } : statement;
}

/** Every source of a relation's columns (a view's: what they are made from). */
function relationSources(relation: unknown, ctx: LineageContext): LineageSource[] {
  const range = relation as Node | undefined;
  if (!range) return [];
  const schema = range['schemaname'] === undefined ? undefined : text(range['schemaname']);
  return allSources(relationLineage(text(range['relname']), schema, ctx)).toArray();
}

/**
 * What a RENAME changes the name of: a column (its sources), a table, view or foreign table (all its
 * columns), a schema (its tables are not looked up: untraced, so every masking rule with columns
 * refuses it). Indexes, sequences, functions, types and the rest hold no masked values.
 */
function renamedBy(body: Node, ctx: LineageContext): LineageSource[] | undefined {
  const type = text(body['renameType']);
  if (type === 'OBJECT_SCHEMA') return untraced(`ALTER SCHEMA ${text(body['subname'])} RENAME`).toArray();
  if (type === 'OBJECT_COLUMN') {
    const range = body['relation'] as Node | undefined;
    if (!range) return undefined;
    const schema = range['schemaname'] === undefined ? undefined : text(range['schemaname']);
    const table = relationLineage(text(range['relname']), schema, ctx);
    if (!('columns' in table)) return table.any.toArray();
    const column = table.columns.find((c) => c.name === text(body['subname']));
    return column ? column.sources.toArray() : untraced(`column ${text(body['subname'])}`).toArray();
  }
  // ALTER INDEX ... RENAME TO renames any relation, a table too (PostgreSQL allows it for
  // compatibility): a name the catalog knows as a table or view is one (an index is not in it).
  if (type === 'OBJECT_INDEX') {
    const range = body['relation'] as Node | undefined;
    const schema = range?.['schemaname'] === undefined ? undefined : text(range['schemaname']);
    const known = range ? ctx.catalog.relations(text(range['relname']), schema) : [];
    return known?.length === 0 ? undefined : relationSources(range, ctx);
  }
  return RELATION_OBJECTS.has(type) ? relationSources(body['relation'], ctx) : undefined;
}

/**
 * ALTER TABLE ... DETACH PARTITION and NO INHERIT: the partition or child leaves the tree whose
 * masked columns covered its own (a rule on the parent's column no longer reaches it).
 */
function cutFromTree(body: Node, ctx: LineageContext): LineageSource[] | undefined {
  const cut: LineageSource[] = [];
  for (const item of list(body['cmds'])) {
    const cmd = item['AlterTableCmd'] as Node | undefined;
    const subtype = text(cmd?.['subtype']);
    const def = cmd?.['def'] as Node | undefined;
    if (subtype === 'AT_DetachPartition') {
      const partition = (def?.['PartitionCmd'] as Node | undefined)?.['name'];
      cut.push(...relationSources(body['relation'], ctx), ...relationSources(partition, ctx));
    } else if (subtype === 'AT_DropInherit') {
      cut.push(...relationSources(body['relation'], ctx), ...relationSources(def?.['RangeVar'], ctx));
    }
  }
  return cut;
}

/** COPY TO: the rows it sends (STDOUT) or stores (a file or program); COPY FROM reads the client's. */
function copyLineage(body: Node, ctx: LineageContext): Omit<StatementLineage, 'written' | 'filtered'> {
  if (body['is_from'] === true) return {};
  let result: QueryColumns;
  if (body['query'] !== undefined) {
    result = queryLineage(body['query'], undefined, ctx);
  } else {
    const relation = body['relation'] as Node;
    const schema = relation['schemaname'] === undefined ? undefined : text(relation['schemaname']);
    result = relationLineage(text(relation['relname']), schema, ctx);
    const attributes = names(body['attlist']);
    if (attributes.length > 0 && 'columns' in result) {
      const columns = result.columns;
      result = {
        columns: attributes.map(
          (name) => columns.find((c) => c.name === name) ?? { name, sources: untraced(`column ${name}`) },
        ),
      };
    }
  }
  if (body['filename'] !== undefined || body['is_program'] === true) {
    ctx.written.addAll(allSources(result));
    return {};
  }
  return { outputs: toOutputs(result), copy: copyFormat(list(body['options'])) };
}

function copyFormat(options: readonly Node[]): CopyFormat {
  const option = (name: string): string | undefined => {
    const def = options.map((o) => o['DefElem'] as Node).find((d) => text(d['defname']) === name);
    if (!def) return undefined;
    const arg = def['arg'] as Node | undefined;
    if (arg === undefined) return 'true';
    const boolean = arg['Boolean'] as Node | undefined;
    if (boolean) return boolean['boolval'] === true ? 'true' : 'false';
    const integer = arg['Integer'] as Node | undefined;
    if (integer) return integer['ival'] === undefined || integer['ival'] === 0 ? 'false' : 'true';
    return text((arg['String'] as Node | undefined)?.['sval'], 'true');
  };
  const format = (option('format') ?? (option('binary') === 'true' ? 'binary' : 'text')).toLowerCase();
  const csv = format === 'csv';
  const quote = option('quote') ?? '"';
  const header = option('header');
  const encoding = option('encoding');
  return {
    ...(encoding !== undefined ? { encoding } : {}),
    format: format === 'csv' ? 'csv' : format === 'binary' ? 'binary' : 'text',
    delimiter: option('delimiter') ?? (csv ? ',' : '\t'),
    quote,
    escape: option('escape') ?? quote,
    header: header !== undefined && !['false', 'off', '0'].includes(header.toLowerCase()),
  };
}

/** ALTER TABLE ... ALTER COLUMN TYPE ... USING, ADD COLUMN ... GENERATED: values written from the table's own. */
function alterTable(body: Node, ctx: LineageContext): void {
  const relation = body['relation'] as Node | undefined;
  if (!relation) return;
  const scope = new Scope();
  const schema = relation['schemaname'] === undefined ? undefined : text(relation['schemaname']);
  const table = relationLineage(text(relation['relname']), schema, ctx);
  const name = text(relation['relname']);
  scope.entries.push(
    'columns' in table
      ? { alias: name, columns: table.columns, any: allSources(table) }
      : { alias: name, columns: undefined, any: table.any },
  );
  for (const item of list(body['cmds'])) {
    const command = item['AlterTableCmd'] as Node | undefined;
    // CLUSTER ON: the index a later bare CLUSTER orders the table by (its columns are not known).
    if (text(command?.['subtype']) === 'AT_ClusterOn') ctx.filtered.addAll(allSources(table));
    const added = command?.['def'] as Node | undefined;
    // ADD CONSTRAINT: a CHECK fails on the rows it selects, an EXCLUDE ... WHERE is a partial index
    // (its row count shows how many rows it selects): what they read is filtered on.
    const constraint = added?.['Constraint'] as Node | undefined;
    if (constraint) {
      ctx.filtered.addAll(expr(constraint['raw_expr'], scope, ctx).sources);
      ctx.filtered.addAll(expr(constraint['where_clause'], scope, ctx).sources);
      ctx.filtered.addAll(expr(constraint['exclusions'], scope, ctx).sources);
    }
    const def = added?.['ColumnDef'] as Node | undefined;
    if (!def) continue;
    ctx.written.addAll(expr(def['raw_default'], scope, ctx).sources);
    for (const constraint of list(def['constraints']))
      ctx.written.addAll(
        expr((constraint['Constraint'] as Node | undefined)?.['raw_expr'], scope, ctx).sources,
      );
  }
}

function toOutputs(result: QueryColumns | OutputLineage): OutputLineage {
  // Outputs given in lineage's own shape are `anyColumn` ones or NO_TABLE_VALUES (no columns, the
  // same in both shapes).
  return 'anyColumn' in result ? result : coreOutputs(result as QueryColumns);
}

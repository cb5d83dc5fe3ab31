import { toOutputs, untraced, untracedStatement, type OutputLineage } from '@tollgate/masking';
import { isCharsetSet } from '../names-set';
import { routineDdl } from '../routine-ddl';
import { splitStatements, type TextReading } from '../statement-splitter';
import type { LineageAnalysis, LineageCatalog, LineageSource, StatementLineage } from './lineage.types';
import {
  allSources,
  DIALECT,
  expr,
  filter,
  fromClause,
  lineageContext,
  parser,
  queryLineage,
  relationLineage,
  Scope,
  selectLineage,
  selectsInto,
  targetList,
  type LineageContext,
  type Node,
  type QueryColumns,
} from './query-lineage';

export interface LineageReading extends TextReading {
  /** The session's current database (unqualified table names are its tables). */
  readonly database: string | undefined;
  /** Code the analysis did not see ran in the session: user variables may hold masked values. */
  readonly untracedVariables?: boolean;
}

/**
 * Lineage of every statement in a MySQL/MariaDB query string, from node-sql-parser's tree (the same
 * MariaDB grammar and statement split as the classifier, so the two agree statement by statement)
 * and the catalog facts `catalog` holds. When the catalog lacks facts, the analysis says which (the
 * caller reads them and asks again); meanwhile what they would tell counts as untraced. Pure: no
 * I/O. Text the parser rejects has no lineage (`unparsed`), which callers treat as untraced.
 */
export function analyzeMysqlLineage(
  sql: string,
  catalog: LineageCatalog,
  reading: LineageReading,
): LineageAnalysis {
  const split = splitStatements(sql, reading);
  if (!split.ok) return { unparsed: split.error };
  const missing = {
    relations: new Map<string, { name: string; schema: string }>(),
    functions: new Set<string>(),
  };
  const statements: StatementLineage[] = [];
  let database = reading.database;
  try {
    for (const text of split.statements) {
      const ctx = lineageContext(catalog, database, reading.untracedVariables);
      for (const statement of textLineage(text, ctx, { ...reading, database })) {
        statements.push(statement);
        if (statement.uses !== undefined) database = statement.uses;
      }
      for (const [key, { name, schema }] of ctx.missingRelations)
        if (schema !== undefined) missing.relations.set(key, { name, schema });
      for (const name of ctx.missingFunctions) missing.functions.add(name);
    }
  } catch (error) {
    return { unparsed: error instanceof Error ? (error.message.split('\n', 1)[0] ?? '') : String(error) };
  }
  if (missing.relations.size === 0 && missing.functions.size === 0) return { statements };
  return {
    statements,
    missing: { relations: [...missing.relations.values()], functions: [...missing.functions] },
  };
}

/** The sources any output of a statement is made from. */
function outputSources(outputs: OutputLineage | undefined): LineageSource[] {
  if (!outputs) return [];
  return outputs.columns ? outputs.columns.flatMap((column) => column.sources) : [...outputs.anyColumn];
}

/** Statements whose rows are settings, plans or the catalog, never values read from tables. */
const NO_TABLE_VALUES: OutputLineage = { columns: [] };

/** SHOW statements (keyword and suffix) whose rows are statement text: untraced. */
const STATEMENT_TEXT_SHOWS = new Set(['processlist', 'binlog events', 'relaylog events']);

/** Statement kinds that hold no expression whose values are stored or returned. */
const NO_VALUES = new Set(['use', 'lock', 'unlock', 'transaction', 'grant', 'revoke', 'kill', 'flush']);
const CHANGES_CATALOG = new Set(['create', 'alter', 'drop', 'rename', 'truncate', 'grant', 'revoke']);

const keywords = (text: string) => text.split(/\s+/, 4).map((w) => w.toUpperCase());

/** One statement text as the splitter gives it: the doors the classifier reads before parsing first. */
function textLineage(text: string, ctx: LineageContext, reading: LineageReading): StatementLineage[] {
  const [first = '', second = '', third = ''] = keywords(text);
  if (first === 'PREPARE') return [prepareLineage(text, ctx, reading)];
  if (first === 'EXECUTE') {
    if (second === 'IMMEDIATE') return [untracedStatement('EXECUTE IMMEDIATE')];
    const name = /^EXECUTE\s+(`(?:[^`]|``)+`|\w+)/i.exec(text)?.[1];
    if (!name) return [untracedStatement('EXECUTE')];
    // Its parameters are user variables: once code may have set them, what they pass is untraced.
    if (reading.untracedVariables && /\bUSING\b/i.test(text))
      return [untracedStatement('EXECUTE ... USING user variables that code in the session may have set')];
    // EXECUTE ... USING @v passes variables, which hold no masked value (see expr 'var').
    return [{ written: [], filtered: [], executes: unquote(name) }];
  }
  if ((first === 'DEALLOCATE' || first === 'DROP') && second === 'PREPARE')
    return [{ written: [], filtered: [], deallocates: unquote(third) }];
  if (first === 'HANDLER') return [handlerLineage(text, ctx)];
  if (first === 'BEGIN' && second === 'NOT' && third === 'ATOMIC')
    return [untracedStatement('BEGIN NOT ATOMIC')];
  if (isCharsetSet(text)) return [{ written: [], filtered: [] }];
  if (routineDdl(text)) return [{ written: [], filtered: [], changesCatalog: true }];
  const tree = parser.astify(text, DIALECT) as unknown as Node | Node[];
  return (Array.isArray(tree) ? tree : [tree]).map((ast) => statementLineage(ast, ctx));
}

function prepareLineage(text: string, ctx: LineageContext, reading: LineageReading): StatementLineage {
  const match = /^PREPARE\s+(`(?:[^`]|``)+`|\w+)\s+FROM\s+([\s\S]*)$/i.exec(text);
  if (!match) throw new Error('a PREPARE the analysis cannot read');
  const name = unquote(match[1] as string);
  const source = (match[2] as string).trim();
  const literal = /^'((?:[^'\\]|\\[\s\S]|'')*)'$|^"((?:[^"\\]|\\[\s\S]|"")*)"$/.exec(source);
  const base = { written: [], filtered: [], prepares: name };
  // PREPARE ... FROM @variable: what EXECUTE runs is not in the command.
  if (!literal) return { ...base, prepared: untracedStatement('PREPARE FROM a variable') };
  const inner = unescapeLiteral(
    literal[1] ?? literal[2] ?? '',
    literal[1] !== undefined ? "'" : '"',
    reading,
  );
  const analysis = analyzeMysqlLineage(inner, ctx.catalog, reading);
  if ('unparsed' in analysis) throw new Error(`PREPARE ${name}: ${analysis.unparsed}`);
  for (const relation of analysis.missing?.relations ?? []) ctx.missRelation(relation.name, relation.schema);
  for (const fn of analysis.missing?.functions ?? []) ctx.missingFunctions.add(fn);
  const [only, ...more] = analysis.statements;
  return { ...base, prepared: only && more.length === 0 ? only : untracedStatement(`PREPARE ${name}`) };
}

/** HANDLER t READ returns rows of table t as they are stored; OPEN and CLOSE return none. */
function handlerLineage(text: string, ctx: LineageContext): StatementLineage {
  const match = /^HANDLER\s+(`(?:[^`]|``)+`|[\w$]+)(?:\s*\.\s*(`(?:[^`]|``)+`|[\w$]+))?\s+(\w+)/i.exec(text);
  if (!match) throw new Error('a HANDLER statement the analysis cannot read');
  if ((match[3] as string).toUpperCase() !== 'READ') return { written: [], filtered: [] };
  const [schema, table] = match[2]
    ? [unquote(match[1] as string), unquote(match[2])]
    : [ctx.database, unquote(match[1] as string)];
  // The name may be an alias given at OPEN, which the catalog does not know: untraced then.
  const result = relationLineage(table, schema, ctx);
  // READ ... WHERE and an index's key values select rows by the table's values.
  if (/\bWHERE\b|[=<>]/i.test(text)) ctx.filtered.addAll(allSources(result));
  return { outputs: toOutputs(result), written: [], filtered: ctx.filtered.toArray() };
}

function statementLineage(ast: Node, ctx: LineageContext): StatementLineage {
  const type = String(ast['type']).toLowerCase();
  const base = CHANGES_CATALOG.has(type) ? { changesCatalog: true as const } : {};
  const finish = (outputs?: QueryColumns | OutputLineage): StatementLineage => ({
    ...base,
    ...(outputs
      ? { outputs: 'columns' in outputs || 'any' in outputs ? toOutputs(outputs as QueryColumns) : outputs }
      : {}),
    written: ctx.written.toArray(),
    filtered: ctx.filtered.toArray(),
  });
  switch (type) {
    case 'select': {
      const result = selectLineage(ast, undefined, ctx);
      return selectsInto(ast) ? finish() : finish(result);
    }
    case 'insert':
    case 'replace':
      return touching(finish(insertLineage(ast, ctx)), ast['table'], ctx);
    case 'update':
    case 'delete':
      return touching(finish(modifyLineage(type, ast, ctx)), ast['table'], ctx);
    case 'create': {
      // CREATE INDEX reads the table's values (a unique one reports duplicates by value).
      if (String(ast['keyword']).toLowerCase() === 'index')
        for (const table of tablesOf(ast['table'])) ctx.written.addAll(tableSources(table, ctx));
      // CREATE TABLE ... SELECT stores the query's rows.
      const query = ast['query_expr'];
      if (query !== undefined && query !== null)
        ctx.written.addAll(allSources(queryLineage(query, undefined, ctx)));
      return finish();
    }
    case 'set': {
      const items = ast['expr'];
      expr(Array.isArray(items) ? items : [], new Scope(), ctx);
      return finish();
    }
    case 'use':
      return { ...finish(), uses: String(ast['db']) };
    case 'alter':
    case 'rename':
      // Renaming, retyping or re-indexing a table moves its stored values under names (and through
      // conversions and checks) a column rule does not follow: as if they were written elsewhere.
      for (const table of tablesOf(renamedFrom(ast))) ctx.written.addAll(tableSources(table, ctx));
      return finish();
    case 'show': {
      // Statement text (other sessions' running statements, the binary log's) quotes the values
      // they read and wrote, as performance_schema's statement history does.
      const shown = [ast['keyword'], ast['suffix']].filter((word) => typeof word === 'string').join(' ');
      if (STATEMENT_TEXT_SHOWS.has(shown.toLowerCase()))
        return finish({ any: untraced(`SHOW ${shown}, which shows statement text`) });
      return finish(NO_TABLE_VALUES);
    }
    case 'desc':
      return finish(NO_TABLE_VALUES);
    case 'explain': {
      // MariaDB plans the statement without running it, but planning evaluates constant expressions
      // and subqueries (an error quotes the value: EXTRACTVALUE's XPath error) and reads const tables
      // to decide the WHERE ("Impossible WHERE noticed after reading const tables" tells whether a
      // predicate holds). Its filters and writes count; what it would return is only `touched`:
      // errors that may quote it are withheld.
      const inner = statementLineage(ast['expr'] as Node, ctx);
      return {
        outputs: NO_TABLE_VALUES,
        written: inner.written,
        filtered: inner.filtered,
        touched: [...(inner.touched ?? []), ...outputSources(inner.outputs)],
      };
    }
    case 'call': {
      // What a procedure returns and does with its arguments is not known.
      const args = expr(ast['expr'], new Scope(), ctx).sources;
      ctx.written.addAll(args);
      return finish({ anyColumn: [{ untraced: 'CALL' }] });
    }
    default: {
      if (NO_VALUES.has(type) || CHANGES_CATALOG.has(type)) return finish();
      // Any other statement: whatever values it names, it may store.
      ctx.written.addAll(expr(ast, new Scope(), ctx).sources);
      return finish();
    }
  }
}

/**
 * The columns of the tables a statement modifies, whose errors may quote them (a duplicate key of
 * another row): `touched`, so that such errors are withheld when one is masked.
 */
function touching(statement: StatementLineage, tables: unknown, ctx: LineageContext): StatementLineage {
  const touched = tablesOf(tables).flatMap((table) => tableSources(table, ctx).toArray());
  return touched.length > 0 ? { ...statement, touched } : statement;
}

/** The tables a DDL tree names: `{db, table}` items, alone, in a list, or in RENAME's pairs. */
function tablesOf(node: unknown): { db: string | undefined; table: string }[] {
  if (Array.isArray(node)) return node.flatMap((item) => tablesOf(item));
  if (typeof node !== 'object' || node === null) return [];
  const { db, table } = node as Node;
  return typeof table === 'string' ? [{ db: typeof db === 'string' ? db : undefined, table }] : [];
}

/** ALTER's table; RENAME TABLE's pairs `[from, to]`: the tables renamed (the new names hold nothing yet). */
function renamedFrom(ast: Node): unknown {
  const table = ast['table'];
  if (ast['type'] !== 'rename' || !Array.isArray(table)) return table;
  return (table as unknown[]).map((pair): unknown => (Array.isArray(pair) ? (pair as unknown[])[0] : pair));
}

function tableSources(table: { db: string | undefined; table: string }, ctx: LineageContext) {
  return allSources(relationLineage(table.table, table.db ?? ctx.database, ctx));
}

/** The FROM of UPDATE and DELETE (tables and joins), the values UPDATE sets, and their filters. */
function modifyLineage(type: string, ast: Node, ctx: LineageContext): QueryColumns | undefined {
  const scope = new Scope();
  fromClause(type === 'delete' ? (ast['from'] ?? ast['table']) : ast['table'], scope, ctx);
  for (const item of Array.isArray(ast['set']) ? (ast['set'] as Node[]) : [])
    ctx.written.addAll(expr(item['value'], scope, ctx).sources);
  filter(ast['where'], scope, ctx);
  filter(ast['orderby'], scope, ctx);
  return returning(ast, scope, ctx);
}

/** INSERT and REPLACE: the values stored (VALUES, SELECT, SET, ON DUPLICATE KEY UPDATE). */
function insertLineage(ast: Node, ctx: LineageContext): QueryColumns | undefined {
  const scope = new Scope();
  fromClause(ast['table'], scope, ctx);
  const values = ast['values'];
  if (values && typeof values === 'object') {
    const source = values as Node;
    const rows =
      source['type'] === 'values' ? queryLineage(source, scope, ctx) : queryLineage(source, new Scope(), ctx);
    ctx.written.addAll(allSources(rows));
  }
  for (const item of Array.isArray(ast['set']) ? (ast['set'] as Node[]) : [])
    ctx.written.addAll(expr(item['value'], scope, ctx).sources);
  const duplicate = ast['on_duplicate_update'] as Node | null | undefined;
  for (const item of Array.isArray(duplicate?.['set']) ? (duplicate['set'] as Node[]) : [])
    ctx.written.addAll(expr(item['value'], scope, ctx).sources);
  return returning(ast, scope, ctx);
}

function returning(ast: Node, scope: Scope, ctx: LineageContext): QueryColumns | undefined {
  const clause = ast['returning'] as Node | null | undefined;
  if (!clause) return undefined;
  return targetList(clause['columns'] ?? clause, scope, ctx);
}

function unescapeLiteral(body: string, quote: string, reading: LineageReading): string {
  const doubled = body.replaceAll(quote + quote, quote);
  if (!reading.backslashEscapes) return doubled;
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', Z: '\x1a' };
  return doubled.replace(/\\([\s\S])/g, (_, c: string) => escapes[c] ?? c);
}

function unquote(name: string): string {
  return name.startsWith('`') ? name.slice(1, -1).replaceAll('``', '`') : name;
}

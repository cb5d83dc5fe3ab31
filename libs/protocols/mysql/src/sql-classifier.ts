import { Parser } from 'node-sql-parser';
import type { MysqlStatementFacts, SqlClassification } from './sql/statement-facts';
import { splitStatements } from './sql/statement-splitter';

const parser = new Parser();
const DIALECT = { database: 'MariaDB' } as const;

type Node = Record<string, unknown>;

/**
 * How the session's server reads SQL text, as far as the proxy knows: backslash escapes (off under
 * sql_mode NO_BACKSLASH_ESCAPES, and treated as off once a statement may have changed sql_mode), and
 * the statements this session prepared with SQL PREPARE (what an EXECUTE of each name runs).
 */
export class MysqlReading {
  backslashEscapes = true;
  private readonly prepared = new Map<string, readonly MysqlStatementFacts[]>();

  /** After the server ran classified statements: what they change in how later text is read. */
  after(statements: readonly MysqlStatementFacts[]): void {
    for (const statement of statements) {
      if (statement.changesSqlMode) this.backslashEscapes = false;
      if (statement.prepares !== undefined) {
        const inner = statements.filter(
          (s) => s.nestedIn === 'PREPARE' && s.preparedAs === statement.prepares,
        );
        this.prepared.set(statement.prepares.toLowerCase(), inner);
      }
      if (statement.deallocates !== undefined) this.prepared.delete(statement.deallocates.toLowerCase());
    }
  }

  preparedAs(name: string): readonly MysqlStatementFacts[] | undefined {
    return this.prepared.get(name.toLowerCase());
  }
}

const READ_ONLY = new Set([
  'SELECT',
  'SHOW',
  'EXPLAIN',
  'USE',
  'BEGIN',
  'START',
  'COMMIT',
  'ROLLBACK',
  'SAVEPOINT',
  'RELEASE',
  'TRANSACTION',
  'HANDLER',
  'DEALLOCATE',
  'PREPARE',
]);

/**
 * Classifies MySQL/MariaDB text for policy with node-sql-parser's MariaDB grammar, statement by
 * statement. MySQL's own doors are decided here: executable comments are read as code, PREPARE of a
 * literal is classified as the statement it prepares (and EXECUTE of that name as it), PREPARE from
 * a variable and EXECUTE IMMEDIATE are dynamic SQL, stored routines, events and triggers and CALL are
 * opaque code, INTO OUTFILE/DUMPFILE and LOAD_FILE read or write server files, and user variables
 * assigned from tables carry values past masking. Anything the parser rejects makes the command
 * unparsed (denied wherever a rule depends on classification).
 */
export function classifyMysql(sql: string, reading: MysqlReading = new MysqlReading()): SqlClassification {
  const key = `${reading.backslashEscapes ? 1 : 0}${sql}`;
  const cached = CACHE.get(key);
  if (cached) {
    // Most recently used last: Map keeps insertion order.
    CACHE.delete(key);
    CACHE.set(key, cached);
    return cached;
  }
  const result = classifyUncached(sql, reading);
  // What EXECUTE runs depends on the session's PREPAREs: never reuse it across sessions.
  const sessionBound =
    result.ok && result.statements.some((s) => s.type === 'EXECUTE' || s.prepares !== undefined);
  if (!sessionBound && sql.length <= CACHE_TEXT_LIMIT) {
    CACHE.set(key, result);
    if (CACHE.size > CACHE_ENTRIES) CACHE.delete(CACHE.keys().next().value as string);
  }
  return result;
}

/** Classifications by text (per backslash reading), shared by sessions: the same text reads the same. */
const CACHE = new Map<string, SqlClassification>();
const CACHE_ENTRIES = 2000;
const CACHE_TEXT_LIMIT = 8192;

function classifyUncached(sql: string, reading: MysqlReading): SqlClassification {
  const split = splitStatements(sql, reading);
  if (!split.ok) return { ok: false, error: split.error };
  const statements: MysqlStatementFacts[] = [];
  try {
    for (const text of split.statements) statements.push(...classifyStatement(text, reading));
  } catch (error) {
    return { ok: false, error: firstLine(error) };
  }
  if (statements.length === 0) return { ok: false, error: 'an empty query' };
  return { ok: true, statements };
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n', 1)[0]?.slice(0, 200) ?? 'unreadable';
}

const keywords = (text: string) => text.split(/\s+/, 4).map((w) => w.toUpperCase());

function classifyStatement(text: string, reading: MysqlReading): MysqlStatementFacts[] {
  const [first = '', second = '', third = ''] = keywords(text);
  if (first === 'PREPARE') return classifyPrepare(text, reading);
  if (first === 'EXECUTE') {
    if (second === 'IMMEDIATE') return [{ type: 'EXECUTE', readOnly: false, opaque: ['DYNAMIC SQL'] }];
    const name = /^EXECUTE\s+(`(?:[^`]|``)+`|\w+)/i.exec(text)?.[1];
    const known = name ? reading.preparedAs(unquote(name)) : undefined;
    if (!known) return [{ type: 'EXECUTE', readOnly: false, opaque: ['EXECUTE'] }];
    return [{ type: 'EXECUTE', readOnly: true }, ...known.map((s) => ({ ...s, nestedIn: 'EXECUTE' }))];
  }
  if ((first === 'DEALLOCATE' || first === 'DROP') && second === 'PREPARE') {
    return [{ type: 'DEALLOCATE', readOnly: true, deallocates: unquote(third) }];
  }
  if (first === 'HANDLER') {
    const table = /^HANDLER\s+(`(?:[^`]|``)+`|[\w.$]+)/i.exec(text)?.[1];
    if (!table) throw new Error('a HANDLER statement the classifier cannot read');
    return [{ type: 'HANDLER', tables: [unquote(table)], readOnly: true }];
  }
  if (first === 'BEGIN' && second === 'NOT' && third === 'ATOMIC') {
    return [{ type: 'DO', readOnly: false, opaque: ['DO'] }];
  }
  if (first === 'CREATE' || first === 'ALTER' || first === 'DROP') {
    const routine =
      /^(?:CREATE|ALTER|DROP)\s+(?:OR\s+REPLACE\s+)?(?:DEFINER\s*=\s*\S+\s+)?(?:AGGREGATE\s+)?(PROCEDURE|FUNCTION|TRIGGER|EVENT)\b/i.exec(
        text,
      );
    if (routine) {
      const kind = `${first} ${(routine[1] as string).toUpperCase()}`;
      // Creating or changing code the server runs later is opaque; dropping it is DDL.
      return first === 'DROP'
        ? [{ type: kind, readOnly: false }]
        : [{ type: kind, readOnly: false, opaque: [opaqueKindFor(kind)] }];
    }
  }
  // One parse gives both the tree and the table list (tableList() alone would parse again).
  const parsed = parser.parse(text, DIALECT);
  const tree = parsed.ast as unknown as Node | Node[];
  const asts = Array.isArray(tree) ? tree : [tree];
  const tables = tableNames(parsed.tableList);
  return asts.map((ast) => factsOf(ast, tables));
}

function opaqueKindFor(kind: string): string {
  if (kind.endsWith('PROCEDURE')) return kind.startsWith('ALTER') ? 'ALTER PROCEDURE' : 'CREATE PROCEDURE';
  if (kind.endsWith('FUNCTION')) return kind.startsWith('ALTER') ? 'ALTER FUNCTION' : 'CREATE FUNCTION';
  if (kind.endsWith('TRIGGER')) return 'CREATE TRIGGER';
  return 'CREATE EVENT';
}

function classifyPrepare(text: string, reading: MysqlReading): MysqlStatementFacts[] {
  const match = /^PREPARE\s+(`(?:[^`]|``)+`|\w+)\s+FROM\s+([\s\S]*)$/i.exec(text);
  if (!match) throw new Error('a PREPARE the classifier cannot read');
  const name = unquote(match[1] as string);
  const source = (match[2] as string).trim();
  const literal = /^'((?:[^'\\]|\\[\s\S]|'')*)'$|^"((?:[^"\\]|\\[\s\S]|"")*)"$/.exec(source);
  if (!literal) {
    // PREPARE ... FROM @variable: the text is not in the command.
    return [{ type: 'PREPARE', readOnly: false, opaque: ['DYNAMIC SQL'] }];
  }
  const inner = unescapeLiteral(
    literal[1] ?? literal[2] ?? '',
    literal[1] !== undefined ? "'" : '"',
    reading,
  );
  const nested = classifyMysql(inner, reading);
  if (!nested.ok) throw new Error(`PREPARE ${name}: ${nested.error}`);
  return [
    { type: 'PREPARE', readOnly: true, prepares: name },
    ...nested.statements.map((s) => ({ ...s, nestedIn: 'PREPARE', preparedAs: name })),
  ];
}

function unescapeLiteral(body: string, quote: string, reading: MysqlReading): string {
  const doubled = body.replaceAll(quote + quote, quote);
  if (!reading.backslashEscapes) return doubled;
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', Z: '\x1a' };
  return doubled.replace(/\\([\s\S])/g, (_, c: string) => escapes[c] ?? c);
}

function unquote(name: string): string {
  return name.startsWith('`') ? name.slice(1, -1).replaceAll('``', '`') : name;
}

function tableNames(tableList: readonly string[]): string[] {
  const names = new Set<string>();
  for (const entry of tableList) {
    const [, db, table] = entry.split('::');
    if (!table || table === 'null') continue;
    names.add(db && db !== 'null' ? `${db}.${table}` : table);
  }
  return [...names];
}

const TRANSACTION_TYPES: Record<string, string> = {
  BEGIN: 'BEGIN',
  START: 'START TRANSACTION',
  COMMIT: 'COMMIT',
  ROLLBACK: 'ROLLBACK',
  SAVEPOINT: 'SAVEPOINT',
  RELEASE: 'RELEASE',
};

function statementType(ast: Node): string {
  const type = str(ast['type']).toLowerCase();
  const keyword = typeof ast['keyword'] === 'string' ? ` ${ast['keyword'].toUpperCase()}` : '';
  switch (type) {
    case 'select':
      return isFileInto(ast) ? 'SELECT INTO' : 'SELECT';
    case 'desc':
      return 'SHOW';
    case 'load_data':
      return 'LOAD DATA';
    case 'transaction': {
      const expr = ast['expr'] as Node | undefined;
      const action =
        str((expr?.['action'] as Node | undefined)?.['value']) || str(expr?.['action']) || 'TRANSACTION';
      return TRANSACTION_TYPES[action.toUpperCase().split(/\s+/)[0] ?? ''] ?? 'TRANSACTION';
    }
    case 'create':
    case 'drop':
    case 'alter':
      return `${type.toUpperCase()}${keyword || ' TABLE'}`;
    default:
      return type.toUpperCase();
  }
}

function isFileInto(ast: Node): boolean {
  const into = ast['into'] as Node | undefined;
  const keyword = str(into?.['keyword']).toUpperCase();
  return keyword === 'OUTFILE' || keyword === 'DUMPFILE';
}

function factsOf(ast: Node, tables: readonly string[]): MysqlStatementFacts {
  const type = statementType(ast);
  const opaque = new Set<string>();
  let readsTables = tables.length > 0;
  let assignsVariable = false;
  let changesSqlMode = false;
  walk(ast, (node) => {
    if (node['type'] === 'function' && /\bload_file\b/i.test(JSON.stringify(node['name'] ?? '')))
      opaque.add('FILE ACCESS');
    if (node['type'] === 'assign' && isUserVariable(node['left'])) assignsVariable = true;
    if (node['type'] === 'into' && node['keyword'] === 'var') assignsVariable = true;
    if (node['type'] === 'var' && /sql_mode/i.test(String(node['name']))) changesSqlMode = true;
    if (node['type'] === 'select' && node['from']) readsTables = true;
  });
  // sql_mode (NO_BACKSLASH_ESCAPES) and the client character set (GBK-like sets) change how `\` reads.
  if (type === 'SET' && /sql_mode|character_set|names|charset/i.test(JSON.stringify(ast)))
    changesSqlMode = true;
  if (type === 'SELECT INTO') opaque.add('FILE ACCESS');
  if (type === 'LOAD DATA') opaque.add('FILE ACCESS');
  if (type === 'CALL') opaque.add('CALL');
  // A user variable set from a table carries its values into later statements, past masking.
  if (assignsVariable && readsTables) opaque.add('USER VARIABLE');
  const family = type.split(' ')[0] ?? '';
  const locking = ast['locking_read'];
  const readOnly = READ_ONLY.has(family) && type !== 'SELECT INTO' && !assignsVariable && !locking;
  const where = ast['where'];
  return {
    type,
    tables: [...tables],
    ...(type === 'UPDATE' || type === 'DELETE' ? { hasWhere: restricts(where) } : {}),
    readOnly,
    ...(opaque.size > 0 ? { opaque: [...opaque] } : {}),
    ...(changesSqlMode ? { changesSqlMode: true as const } : {}),
  };
}

function isUserVariable(node: unknown): boolean {
  return (
    typeof node === 'object' &&
    node !== null &&
    (node as Node)['type'] === 'var' &&
    (node as Node)['prefix'] === '@'
  );
}

/** A WHERE restricts rows unless it is absent, a constant, or compares a column with itself. */
function restricts(where: unknown): boolean {
  if (typeof where !== 'object' || where === null) return false;
  const node = where as Node;
  if (
    ['number', 'bool', 'boolean', 'single_quote_string', 'double_quote_string', 'null'].includes(
      String(node['type']),
    )
  )
    return false;
  if (node['type'] === 'binary_expr') {
    const operator = String(node['operator']).toUpperCase();
    if (operator === 'OR') return restricts(node['left']) && restricts(node['right']);
    if (operator === 'AND') return restricts(node['left']) || restricts(node['right']);
    if (JSON.stringify(node['left']) === JSON.stringify(node['right'])) return false;
    const sides = [node['left'], node['right']].map((side) => (side as Node | null)?.['type']);
    if (!sides.includes('column_ref')) return false;
  }
  return true;
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

function walk(node: unknown, visit: (node: Node) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  visit(node as Node);
  for (const key in node) walk((node as Node)[key], visit);
}

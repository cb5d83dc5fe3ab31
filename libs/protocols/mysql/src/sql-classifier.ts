import { Parser } from 'node-sql-parser';
import type { MysqlStatementFacts, SqlClassification } from './sql/statement-facts';
import { readingKey, splitStatements, type ServerFlavor } from './sql/statement-splitter';
import { isCharsetSet } from './sql/names-set';
import { routineDdl } from './sql/routine-ddl';
import { mayStore } from './sql/unparsed-stores';
import { modifiedTables, whereRestricts } from './sql/where-restriction';

const parser = new Parser();
const DIALECT = { database: 'MariaDB' } as const;

type Node = Record<string, unknown>;

/** The server's settings that decide how it reads SQL text (undefined: not known). */
export interface SessionSettings {
  readonly sqlMode?: string | undefined;
  readonly characterSetClient?: string | undefined;
}

/**
 * Client character sets whose multi-byte characters may end in an ASCII byte (a backslash, a
 * backtick, a letter): the server then reads a UTF-8 text's bytes as other characters than the parser.
 */
const ASCII_EATING_CHARSETS = new Set(['big5', 'sjis', 'gbk', 'cp932', 'gb18030', 'euckr']);

/**
 * sql_mode flags under which the server reads text as the parser (node-sql-parser's MariaDB grammar)
 * does not: ORACLE's grammar is another parser (sql_yacc_ora) altogether.
 */
const UNREADABLE_MODES = ['ORACLE'];

/**
 * How the session's server reads SQL text, as far as the proxy knows: backslash escapes (off under
 * sql_mode NO_BACKSLASH_ESCAPES), double quotes (identifiers under ANSI_QUOTES), which bytes make
 * a character (the client character set), and the statements this session prepared with SQL PREPARE
 * (what an EXECUTE of each name runs). Read from the server at the start and after any statement that
 * may change them; until then (or when the server's answer is unknown) the unsafe reading holds.
 */
export class MysqlReading {
  backslashEscapes = true;
  /** Double quotes may quote identifiers (ANSI_QUOTES): text with a `"` token is refused. */
  ansiQuotes = false;
  /** The client character set may read ASCII bytes as part of multi-byte characters. */
  asciiOnly = false;
  /** `||` concatenates (PIPES_AS_CONCAT), is OR (false), or is not known. */
  pipesAsConcat: boolean | 'unknown' = false;
  /** Why no text can be read as the server reads it (sql_mode ORACLE), if so. */
  unreadable: string | undefined;
  /** A statement that may have changed how text reads ran: the settings must be read again. */
  stale = false;
  /** The server's flavour and version (from its greeting): they decide versioned executable comments. */
  server: ServerFlavor | undefined;
  private readonly prepared = new Map<string, readonly MysqlStatementFacts[]>();

  /** The server's settings, as read from it (undefined ones are the unsafe case). */
  learn(settings: SessionSettings): void {
    const mode = settings.sqlMode?.toUpperCase().split(',');
    const charset = settings.characterSetClient?.toLowerCase();
    this.backslashEscapes =
      mode !== undefined &&
      !mode.includes('NO_BACKSLASH_ESCAPES') &&
      charset !== undefined &&
      !ASCII_EATING_CHARSETS.has(charset);
    this.ansiQuotes = mode === undefined || mode.includes('ANSI_QUOTES');
    this.asciiOnly = charset === undefined || ASCII_EATING_CHARSETS.has(charset);
    this.pipesAsConcat = mode === undefined ? 'unknown' : mode.includes('PIPES_AS_CONCAT');
    const unreadable = mode?.find((flag) => UNREADABLE_MODES.includes(flag));
    this.unreadable = unreadable ? `text under sql_mode ${unreadable} (another grammar)` : undefined;
    this.stale = false;
  }

  /** The key under which a text's classification holds for every session reading it alike. */
  get key(): string {
    return readingKey(this);
  }

  /** After the server ran classified statements: what they change in how later text is read. */
  after(statements: readonly MysqlStatementFacts[]): void {
    for (const statement of statements) {
      if (statement.changesSqlMode && statement.nestedIn !== 'PREPARE') {
        // Until the settings are read again, the unsafe reading.
        this.backslashEscapes = false;
        this.ansiQuotes = true;
        this.asciiOnly = true;
        this.pipesAsConcat = 'unknown';
        this.stale = true;
      }
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
  const key = `${reading.key}${sql}`;
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
  // Text the server may read otherwise than the splitter: nothing of it can be ruled out.
  if (!split.ok) return { ok: false, error: split.error, mayStore: true };
  const statements: MysqlStatementFacts[] = [];
  try {
    split.statements.forEach((text, i) => {
      const facts = classifyStatement(text, reading);
      // The server reads what follows with the settings the statement set, which are not known yet.
      if (i < split.statements.length - 1 && facts.some((s) => s.changesSqlMode && s.nestedIn !== 'PREPARE'))
        throw new Error(
          'a statement that may change sql_mode or the character set, followed by others in the same command',
        );
      statements.push(...facts);
    });
  } catch (error) {
    return {
      ok: false,
      error: firstLine(error),
      ...(mayStore(split.statements, reading) ? { mayStore: true as const } : {}),
    };
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
  // KILL [HARD|SOFT] [CONNECTION|QUERY] [ID] <id> | USER <name>: the session engine answers a KILL
  // alone in a query itself and refuses to run it anywhere else (EXECUTE of a prepared one, say).
  if (first === 'KILL') return [{ type: 'KILL', readOnly: false }];
  if (first === 'HANDLER') {
    const table = /^HANDLER\s+(`(?:[^`]|``)+`|[\w.$]+)/i.exec(text)?.[1];
    if (!table) throw new Error('a HANDLER statement the classifier cannot read');
    return [{ type: 'HANDLER', tables: [unquote(table)], readOnly: true }];
  }
  if (first === 'BEGIN' && second === 'NOT' && third === 'ATOMIC') {
    return [{ type: 'DO', readOnly: false, opaque: ['DO'] }];
  }
  // SET NAMES / CHARACTER SET: the settings are read from the server again before the next text.
  if (isCharsetSet(text)) return [{ type: 'SET', readOnly: true, changesSqlMode: true }];
  const routine = routineDdl(text);
  if (routine) {
    // Creating or changing code the server runs later is opaque; dropping it is DDL.
    return routine.startsWith('DROP')
      ? [{ type: routine, readOnly: false }]
      : [{ type: routine, readOnly: false, opaque: [opaqueKindFor(routine)] }];
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
  // Code the server runs later, however the text spelled it (routineDdl reads the usual spellings).
  if (/^(CREATE|ALTER) (PROCEDURE|FUNCTION|TRIGGER|EVENT)$/.test(type)) opaque.add(opaqueKindFor(type));
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
    ...(type === 'UPDATE' || type === 'DELETE'
      ? { hasWhere: whereRestricts(where, modifiedTables(ast)) }
      : {}),
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

import { names, type Node } from './ast';
import { parseStatements } from './parse-tree';

/**
 * Statement shapes: what lets a text that differs from one analysed before only in its constants
 * (pgbench's simple protocol, an application that inlines its parameters) reuse that analysis
 * without being parsed again.
 *
 * A text's *shape* is the text with each string and number literal replaced by a marker, found by a
 * scanner that follows PostgreSQL's lexer for what it strips (plain `'...'` strings with
 * standard_conforming_strings on, unsigned numbers) and keeps everything else verbatim (identifiers,
 * quoted identifiers, comments, dollar-quoted and prefixed strings such as `E'...'`, parameters).
 * The first text of a shape is parsed, and the shape's *template* learnt from its tree: a literal
 * may be stripped only where the parser put a constant (an A_Const starting at the literal) in a
 * place where no analysis reads constants. Every other literal is *decisive*: its text is part of
 * the key. So a key stands for one token sequence and one parse tree up to the values of constants
 * nothing reads, and the classification and lineage of one text hold for every text of its key.
 *
 * Constants are read (so decisive) in: statements other than SELECT (a WHERE that must restrict,
 * SET values, COPY options, function bodies, ...), a SELECT with a data-modifying statement inside,
 * ORDER BY / GROUP BY / DISTINCT ON and window clauses (`ORDER BY 2` names a result column), and the
 * arguments of set_config (a setting that runs code). A literal the parser did not make a constant
 * where it starts (an option, a file name, a string continued on the next line) is decisive too.
 * Whoever makes an analysis read a constant somewhere new must make it decisive here;
 * statement-shape.spec.ts checks random constants against uncached analyses over the corpus.
 */

/** Shapes are learnt only for texts this long at most (the caches above keep shorter ones too). */
const MAX_SHAPED_LENGTH = 4096;
const MAX_TEMPLATES = 2048;
const STRING_MARK = '\u0001';
const INTEGER_MARK = '\u0002';
const NUMBER_MARK = '\u0003';

interface Literal {
  /** UTF-8 byte offset (the parser's locations count bytes). */
  readonly location: number;
  /** The literal as written. */
  readonly raw: string;
}

interface Scan {
  readonly shape: string;
  readonly literals: readonly Literal[];
}

/** Per shape, for each literal: whether it is decisive (kept in the key). */
type Template = readonly boolean[];

const templates = new Map<string, Template>();
let lastText: string | undefined;
let lastKey: string | undefined;

/**
 * The cache key of `sql`'s analysis: equal for two texts exactly when they differ only in constants
 * no analysis reads. Parses `sql` (through the shared parse-tree cache) the first time its shape is
 * seen. Undefined for text not worth shaping (no literal, too long, control characters): the
 * callers key such text by itself.
 */
export function analysisKey(sql: string): string | undefined {
  if (sql === lastText) return lastKey;
  const key = computeKey(sql);
  lastText = sql;
  lastKey = key;
  return key;
}

function computeKey(sql: string): string | undefined {
  const scan = scanLiterals(sql);
  if (!scan) return undefined;
  let template = templates.get(scan.shape);
  if (template) {
    templates.delete(scan.shape);
    templates.set(scan.shape, template);
  } else {
    template = learnTemplate(sql, scan);
    templates.set(scan.shape, template);
    if (templates.size > MAX_TEMPLATES) templates.delete(templates.keys().next().value as string);
  }
  // \u0000 cannot occur in SQL text (a query string is a C string): the parts cannot run together,
  // and no key is the text of another statement.
  let key = `\u0000${scan.shape}`;
  for (let i = 0; i < scan.literals.length; i++)
    if (template[i] !== false) key += `\u0000${i}\u0000${(scan.literals[i] as Literal).raw}`;
  return key;
}

/** Forgets every template (for measuring uncached work, and in tests). */
export function clearShapeTemplates(): void {
  templates.clear();
  lastText = undefined;
  lastKey = undefined;
}

// ---- the scanner ------------------------------------------------------------------------------

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
/** A character that may start an identifier or keyword. */
const isIdentStart = (c: number) =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
/** A character that may continue one (`$` too: `a$b` is one identifier). */
const isIdentChar = (c: number) => isIdentStart(c) || isDigit(c) || c === 0x24;
const NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z_0-9\u0080-\uffff]*)?\$/y;

/**
 * The shape of `sql` and its strippable literals, or undefined when there is none or the text
 * cannot be scanned (unterminated strings and comments are left to the parser).
 */
export function scanLiterals(sql: string): Scan | undefined {
  const n = sql.length;
  if (n > MAX_SHAPED_LENGTH) return undefined;
  const literals: Literal[] = [];
  let shape = '';
  let copied = 0; // sql[copied..] is not yet in `shape`
  // UTF-8 offsets, counted only up to where they are needed.
  let bytesAt = 0;
  let bytes = 0;
  const byteOffset = (index: number) => {
    for (; bytesAt < index; bytesAt++) {
      const c = sql.charCodeAt(bytesAt);
      bytes +=
        c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? 4 : c >= 0xdc00 && c <= 0xdfff ? 0 : 3;
    }
    return bytes;
  };
  const strip = (start: number, end: number, mark: string) => {
    shape += sql.slice(copied, start) + mark;
    copied = end;
    literals.push({ location: byteOffset(start), raw: sql.slice(start, end) });
  };

  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c <= 0x03) return undefined; // the markers (and NUL) must not occur in the text
    if (c === 0x27 /* ' */) {
      const end = stringEnd(sql, i + 1, false);
      if (end < 0) return undefined;
      strip(i, end, STRING_MARK);
      i = end;
    } else if (isDigit(c) || (c === 0x2e /* . */ && isDigit(sql.charCodeAt(i + 1)))) {
      NUMBER.lastIndex = i;
      NUMBER.exec(sql);
      const end = NUMBER.lastIndex;
      const next = sql.charCodeAt(end);
      if (!isIdentChar(next) && next !== 0x2e) {
        // The lexer makes an integer that fits in 32 bits an ICONST, any other number an FCONST,
        // and the grammar takes only ICONST in places (varchar(20)): the two are different marks.
        const raw = sql.slice(i, end);
        strip(i, end, /^\d+$/.test(raw) && Number(raw) <= 2147483647 ? INTEGER_MARK : NUMBER_MARK);
        i = end;
      } else {
        // `1e`, `0x1f`, `1_000`, `1..2`: not a plain number to every PostgreSQL version: verbatim.
        i = end;
        while (i < n && (isIdentChar(sql.charCodeAt(i)) || sql.charCodeAt(i) === 0x2e)) i++;
      }
    } else if (isIdentStart(c)) {
      let end = i + 1;
      while (end < n && isIdentChar(sql.charCodeAt(end))) end++;
      const next = sql.charCodeAt(end);
      if (next === 0x27) {
        // E'...', B'...', X'...', N'...' (or a string right after a name): kept verbatim.
        const escapes = end - i === 1 && (c === 0x45 || c === 0x65);
        end = stringEnd(sql, end + 1, escapes);
        if (end < 0) return undefined;
      } else if (next === 0x26 /* & */ && end - i === 1 && (c === 0x55 || c === 0x75)) {
        // U&'...' and U&"...": kept verbatim.
        const quote = sql.charCodeAt(end + 1);
        if (quote === 0x27) end = stringEnd(sql, end + 2, false);
        else if (quote === 0x22) end = quotedEnd(sql, end + 2);
        else end += 1;
        if (end < 0) return undefined;
      }
      i = end;
    } else if (c === 0x22 /* " */) {
      i = quotedEnd(sql, i + 1);
      if (i < 0) return undefined;
    } else if (c === 0x2d /* - */ && sql.charCodeAt(i + 1) === 0x2d) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end;
    } else if (c === 0x2f /* / */ && sql.charCodeAt(i + 1) === 0x2a /* * */) {
      i = commentEnd(sql, i + 2);
      if (i < 0) return undefined;
    } else if (c === 0x24 /* $ */) {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql)?.[0];
      if (tag === undefined) {
        i++; // $1 and the like: the digits follow as verbatim below
        while (i < n && isDigit(sql.charCodeAt(i))) i++;
      } else {
        const close = sql.indexOf(tag, i + tag.length);
        if (close < 0) return undefined;
        i = close + tag.length;
      }
    } else {
      i++;
    }
  }
  if (literals.length === 0) return undefined;
  return { shape: shape + sql.slice(copied), literals };
}

/** The index after the closing quote of a string whose body starts at `i` (-1: unterminated). */
function stringEnd(sql: string, i: number, backslashEscapes: boolean): number {
  for (;;) {
    const quote = sql.indexOf("'", i);
    if (quote < 0) return -1;
    if (backslashEscapes) {
      // A quote after an odd run of backslashes is escaped.
      let slashes = 0;
      for (let j = quote - 1; j >= i && sql.charCodeAt(j) === 0x5c; j--) slashes++;
      if (slashes % 2 === 1) {
        i = quote + 1;
        continue;
      }
    }
    if (sql.charCodeAt(quote + 1) === 0x27) {
      i = quote + 2; // '' is a quote inside the string
      continue;
    }
    return quote + 1;
  }
}

function quotedEnd(sql: string, i: number): number {
  for (;;) {
    const quote = sql.indexOf('"', i);
    if (quote < 0) return -1;
    if (sql.charCodeAt(quote + 1) !== 0x22) return quote + 1;
    i = quote + 2;
  }
}

/** Block comments nest in PostgreSQL. */
function commentEnd(sql: string, i: number): number {
  let depth = 1;
  while (depth > 0) {
    const open = sql.indexOf('/*', i);
    const close = sql.indexOf('*/', i);
    if (close < 0) return -1;
    if (open >= 0 && open < close) {
      depth++;
      i = open + 2;
    } else {
      depth--;
      i = close + 2;
    }
  }
  return i;
}

// ---- the template -----------------------------------------------------------------------------

/** Clauses whose constants name result columns by position (`ORDER BY 2`) or may. */
const POSITIONAL_CLAUSES = new Set([
  'sortClause',
  'groupClause',
  'distinctClause',
  'partitionClause',
  'orderClause',
  'agg_order',
]);
/** Functions whose constant arguments an analysis reads. */
const CONSTANT_READING_FUNCTIONS = new Set(['set_config']);
/** Statements inside a SELECT whose constants are read (a WHERE that must restrict). */
const DATA_MODIFYING = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

function learnTemplate(sql: string, scan: Scan): Template {
  const allDecisive = scan.literals.map(() => true);
  const parsed = parseStatements(sql);
  if (typeof parsed === 'string') return allDecisive;
  // Where the parser put constants nothing reads: location → true.
  const free = new Map<number, boolean>();
  let readsAll = false;
  const visit = (node: unknown, decisive: boolean): void => {
    if (readsAll || typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item, decisive);
      return;
    }
    for (const key in node) {
      const value = (node as Node)[key];
      if (key === 'A_Const') {
        const location = Number((value as Node)['location'] ?? 0);
        // Two constants at one place (should not happen): the stricter one counts.
        free.set(location, !decisive && free.get(location) !== false);
        continue;
      }
      if (DATA_MODIFYING.has(key)) {
        readsAll = true;
        return;
      }
      let inner = decisive || POSITIONAL_CLAUSES.has(key);
      if (key === 'FuncCall') {
        const name =
          names((value as Node)['funcname'])
            .at(-1)
            ?.toLowerCase() ?? '';
        inner ||= CONSTANT_READING_FUNCTIONS.has(name);
      }
      visit(value, inner);
    }
  };
  for (const stmt of parsed) {
    if (!('SelectStmt' in stmt)) return allDecisive;
    visit(stmt, false);
    if (readsAll) return allDecisive;
  }
  return scan.literals.map(({ location }) => {
    if (free.get(location) === true) return false;
    // `-5` is one constant to the parser, at the minus sign.
    const minus = minusBefore(sql, location);
    return minus === undefined || free.get(minus) !== true;
  });
}

/** The byte offset of a `-` before the literal at byte `location` (only blanks between), if any. */
function minusBefore(sql: string, location: number): number | undefined {
  // Offsets here are bytes; the text before a literal preceded by a minus is compared by bytes too.
  const before = Buffer.from(sql, 'utf8').subarray(0, location);
  let j = before.length - 1;
  while (j >= 0 && (before[j] === 0x20 || before[j] === 0x09 || before[j] === 0x0a || before[j] === 0x0d))
    j--;
  return j >= 0 && before[j] === 0x2d ? j : undefined;
}

/**
 * Splits MySQL text into statements the way the server reads it: quotes ('..', "..", `..`, with
 * backslash escapes unless NO_BACKSLASH_ESCAPES is in force), comments (`#`, `-- `, `/* *\/`) and
 * `;`. Executable comments (`/*! ... *\/`, `/*!50001 ... *\/`, MariaDB's `/*M!100101 ... *\/`) are
 * code to the server: their content is kept as statement text (whatever the version gate says, so
 * the classifier sees at least what the server may run). Text the server might read differently
 * from the parser is refused, never guessed at.
 */
export function splitStatements(
  sql: string,
  reading: TextReading,
): { readonly ok: true; readonly statements: string[] } | { readonly ok: false; readonly error: string } {
  if (reading.unreadable) return { ok: false, error: reading.unreadable };
  if (sql.includes('\ufffd')) {
    return { ok: false, error: 'text that is not valid UTF-8 (the server may read those bytes differently)' };
  }
  if (!reading.backslashEscapes && sql.includes('\\')) {
    return {
      ok: false,
      error:
        'a backslash in text the server may read under NO_BACKSLASH_ESCAPES (sql_mode changed or unknown)',
    };
  }
  // eslint-disable-next-line no-control-regex
  if (reading.asciiOnly && /[^\x00-\x7f]/.test(sql)) {
    return {
      ok: false,
      error:
        'a non-ASCII character under a client character set whose characters may take in ASCII bytes (gbk, sjis, big5, ...; or changed and not read yet)',
    };
  }
  const statements: string[] = [];
  let current = '';
  let inExecutable = false;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (c === '"' && reading.ansiQuotes) {
      return {
        ok: false,
        error:
          'a double-quoted token the server may read as an identifier (sql_mode ANSI_QUOTES, or changed and not read yet)',
      };
    }
    if (c === "'" || c === '"' || c === '`') {
      const end = quoteEnd(sql, i, c, reading.backslashEscapes && c !== '`');
      if (end < 0)
        return { ok: false, error: `an unterminated ${c === '`' ? 'quoted identifier' : 'string'}` };
      current += sql.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    if (c === '#' || (c === '-' && next === '-')) {
      if (c === '-') {
        const after = sql[i + 2];
        // MySQL reads `--` as a comment only before whitespace or a control character; node-sql-parser
        // always does. `SELECT 1 --1` is arithmetic to the server: refuse rather than disagree.
        if (after !== undefined && after.charCodeAt(0) > 0x20) {
          return { ok: false, error: 'a `--` not followed by a space (MySQL does not read it as a comment)' };
        }
      }
      const end = sql.indexOf('\n', i);
      if (inExecutable && (end < 0 || sql.lastIndexOf('*/', end) > i)) {
        return { ok: false, error: 'a line comment inside an executable comment' };
      }
      current += ' ';
      i = end < 0 ? n : end + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      if (inExecutable) return { ok: false, error: 'a comment inside an executable comment' };
      const executable = /^\/\*M?!/.exec(sql.slice(i, i + 4));
      if (executable) {
        let j = i + executable[0].length;
        let digits = 0;
        while (j < n && /[0-9]/.test(sql[j] as string)) {
          j++;
          digits++;
        }
        if (digits !== 0 && digits !== 5 && digits !== 6) {
          return { ok: false, error: 'an executable comment with a version of neither 5 nor 6 digits' };
        }
        inExecutable = true;
        current += ' ';
        i = j;
        continue;
      }
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) return { ok: false, error: 'an unterminated comment' };
      current += ' ';
      i = end + 2;
      continue;
    }
    if (inExecutable && c === '*' && next === '/') {
      inExecutable = false;
      current += ' ';
      i += 2;
      continue;
    }
    if (c === ';') {
      if (inExecutable) return { ok: false, error: 'a `;` inside an executable comment' };
      if (current.trim()) statements.push(current.trim());
      current = '';
      i++;
      continue;
    }
    current += c;
    i++;
  }
  if (inExecutable) return { ok: false, error: 'an unterminated executable comment' };
  if (current.trim()) statements.push(current.trim());
  return { ok: true, statements };
}

/** How the server reads text (see MysqlReading); absent flags are the server's defaults. */
export interface TextReading {
  readonly backslashEscapes: boolean;
  /** ANSI_QUOTES: `"` quotes identifiers. */
  readonly ansiQuotes?: boolean;
  /** The client character set may read ASCII bytes into multi-byte characters. */
  readonly asciiOnly?: boolean;
  /** Why no text reads as the parser reads it, if so. */
  readonly unreadable?: string | undefined;
}

/** Index of the quote closing the one at `start`, or -1. Doubled quotes stand for one. */
function quoteEnd(sql: string, start: number, quote: string, backslash: boolean): number {
  for (let i = start + 1; i < sql.length; i++) {
    const c = sql[i];
    if (backslash && c === '\\') {
      i++;
      continue;
    }
    if (c === quote) {
      if (sql[i + 1] === quote) {
        i++;
        continue;
      }
      return i;
    }
  }
  return -1;
}

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
      const executable = /^\/\*(M)?!/.exec(sql.slice(i, i + 4));
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
        const version = digits === 0 ? undefined : Number(sql.slice(j - digits, j));
        const runs = executableRuns(executable[1] !== undefined, version, digits, reading.server);
        if (runs === undefined) {
          return {
            ok: false,
            error: 'a versioned executable comment the server may or may not run (its version is not known)',
          };
        }
        if (runs) {
          inExecutable = true;
          current += ' ';
          i = j;
          continue;
        }
        // Skipped by the server: a comment, which may hold one nested `/* */` (the server's lexer).
        const end = skippedCommentEnd(sql, j);
        if (end < 0) return { ok: false, error: 'an unterminated comment' };
        current += ' ';
        i = end;
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
    if (c === '|' && next === '|') {
      // The server reads `||` as OR (lowest precedence) unless sql_mode has PIPES_AS_CONCAT; the
      // parser always as concatenation (`id = 1 || 1` would be `id = '11'`): say OR where it is one.
      if (reading.pipesAsConcat === 'unknown') {
        return {
          ok: false,
          error:
            'a `||` the server may read as OR or as concatenation (sql_mode PIPES_AS_CONCAT changed or unknown)',
        };
      }
      current += reading.pipesAsConcat === true ? '||' : ' OR ';
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
  /** `||` concatenates (sql_mode PIPES_AS_CONCAT); absent or false: it is OR, the server's default. */
  readonly pipesAsConcat?: boolean | 'unknown';
  /** Why no text reads as the parser reads it, if so. */
  readonly unreadable?: string | undefined;
  /** The server, whose version decides versioned executable comments (unknown: they are refused). */
  readonly server?: ServerFlavor | undefined;
}

/** The server's flavour and version (MYSQL_VERSION_ID: 10.11.19 is 101119), which decide versioned comments. */
export interface ServerFlavor {
  readonly mariadb: boolean;
  readonly versionId: number;
}

/** The flavour of a server from the version its greeting states (MariaDB's `5.5.5-10.11.19-MariaDB...`). */
export function serverFlavor(version: string): ServerFlavor | undefined {
  const mariadb = /mariadb/i.test(version);
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(mariadb ? version.replace(/^5\.5\.5-/, '') : version);
  if (!match) return undefined;
  const [major, minor, patch] = [match[1], match[2], match[3]].map(Number) as [number, number, number];
  return { mariadb, versionId: major * 10000 + minor * 100 + patch };
}

/** A key telling readings apart for caches: the same text reads the same under the same key. */
export function readingKey(reading: TextReading): string {
  const flags = [
    reading.backslashEscapes,
    reading.ansiQuotes,
    reading.asciiOnly,
    reading.unreadable !== undefined,
  ];
  const pipes = reading.pipesAsConcat === 'unknown' ? '?' : reading.pipesAsConcat ? '1' : '0';
  const server = reading.server ? `${reading.server.mariadb ? 'm' : 'o'}${reading.server.versionId}` : '?';
  return `${flags.map((flag) => (flag ? 1 : 0)).join('')}${pipes}${server}:`;
}

/**
 * Whether the server runs an executable comment's content (`/*!`, MariaDB's `/*M!`, with a 5- or
 * 6-digit version or none), as its lexer decides; undefined when that depends on what is not known.
 * MariaDB runs a version up to its own, except MySQL 5.7-era ones (50700-99999) not marked `M`;
 * MySQL reads `/*M!` as a plain comment and 5-digit versions (6 digits: not followed here).
 */
function executableRuns(
  maria: boolean,
  version: number | undefined,
  digits: number,
  server: ServerFlavor | undefined,
): boolean | undefined {
  if (!server) return version === undefined && !maria ? true : undefined;
  if (server.mariadb) {
    if (version === undefined) return true;
    return version <= server.versionId && (version < 50700 || version > 99999 || maria);
  }
  if (maria || digits === 6) return undefined;
  return version === undefined || version <= server.versionId;
}

/**
 * Where a versioned comment the server skips ends (the index after its `*\/`), or -1: the server's
 * lexer lets it hold one level of nested `/* *\/` (consume_comment with one recursion).
 */
function skippedCommentEnd(sql: string, from: number): number {
  let depth = 0;
  for (let i = from; i < sql.length - 1; i++) {
    if (depth === 0 && sql[i] === '/' && sql[i + 1] === '*') {
      depth = 1;
      i++;
      continue;
    }
    if (sql[i] === '*' && sql[i + 1] === '/') {
      if (depth === 0) return i + 2;
      depth = 0;
      i++;
    }
  }
  return -1;
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

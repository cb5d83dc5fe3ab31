import type { TextReading } from './statement-splitter';

/**
 * Words that make a statement store values somewhere (a table, a file, a variable, a sequence, a
 * lock name, the session's LAST_INSERT_ID) or run code that may: INSERT ... SELECT, CREATE TABLE ...
 * SELECT, SELECT ... INTO, GET DIAGNOSTICS @v = ..., CALL, ...
 */
const STORING_WORDS = new Set([
  'INSERT',
  'REPLACE',
  'UPDATE',
  'DELETE',
  'CREATE',
  'ALTER',
  'RENAME',
  'INTO',
  'LOAD',
  'CALL',
  'DO',
  'EXECUTE',
  'PREPARE',
  'TRUNCATE',
  'BINLOG',
  'INSTALL',
  'SIGNAL',
  'RESIGNAL',
  'DIAGNOSTICS',
  'SETVAL',
  'LAST_INSERT_ID',
  'GET_LOCK',
]);

/**
 * Whether statement texts the parser rejected (as the splitter gives them: comments out) may store
 * values: any storing word or `:=` outside strings and quoted names, or a SET whose value is read
 * from a query or names a user variable (`SET STATEMENT ... FOR` is read as its settings and its
 * statement). Plain reads (`SELECT ... FROM JSON_TABLE(...)`, `SET STATEMENT ... FOR SELECT ...`,
 * `CHECKSUM TABLE t`) do not. Built-in or stored functions with side effects other than the named
 * ones are not recognized.
 */
export function mayStore(statements: readonly string[], reading: TextReading): boolean {
  return statements.some((statement) => statementMayStore(tokens(statement, reading)));
}

function statementMayStore(words: readonly string[]): boolean {
  if (words[0] === 'SET') {
    if (words[1] === 'STATEMENT') {
      const at = words.indexOf('FOR');
      if (at < 0) return true;
      return settingsMayStore(words.slice(2, at)) || statementMayStore(words.slice(at + 1));
    }
    return settingsMayStore(words.slice(1));
  }
  return words.some((word) => STORING_WORDS.has(word) || word === ':=');
}

function settingsMayStore(words: readonly string[]): boolean {
  return words.some(
    (word) => STORING_WORDS.has(word) || word === ':=' || word === 'SELECT' || /^@[^@]/.test(word),
  );
}

const WORD = /@@?[\w$.]*|[A-Za-z_$][\w$]*|:=/y;

/** Words (upper case), `@name` variables and `:=`, skipping strings and quoted names. */
function tokens(text: string, reading: TextReading): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "'" || c === '"' || c === '`') {
      i++;
      while (i < text.length) {
        const d = text[i] as string;
        if (d === '\\' && c !== '`' && reading.backslashEscapes) i += 2;
        else if (d === c && text[i + 1] === c) i += 2;
        else if (d === c) break;
        else i++;
      }
      i++;
      continue;
    }
    WORD.lastIndex = i;
    const word = WORD.exec(text)?.[0];
    if (word) {
      out.push(word.toUpperCase());
      i += word.length;
    } else {
      i++;
    }
  }
  return out;
}

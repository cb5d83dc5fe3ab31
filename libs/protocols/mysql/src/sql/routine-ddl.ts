/** A quoted name or host: '...', "...", `...` (doubled quotes and backslash escapes inside). */
const QUOTED = String.raw`'(?:[^'\\]|\\[\s\S]|'')*'|"(?:[^"\\]|\\[\s\S]|"")*"|` + '`(?:[^`]|``)*`';
/** `DEFINER = user@host`, `CURRENT_USER`, `CURRENT_USER ( )`, `CURRENT_ROLE`, a role name. */
const DEFINER = String.raw`DEFINER\s*=\s*(?:CURRENT_USER(?:\s*\(\s*\))?|CURRENT_ROLE(?:\s*\(\s*\))?|(?:${QUOTED}|[\w$.-]+)(?:\s*@\s*(?:${QUOTED}|[\w$.%:-]+))?)\s*`;
const ROUTINE_DDL = new RegExp(
  String.raw`^(CREATE|ALTER|DROP)\s+(?:OR\s+REPLACE\s+)?(?:${DEFINER})?(?:AGGREGATE\s+)?(PROCEDURE|FUNCTION|TRIGGER|EVENT)\b`,
  'i',
);

/**
 * Whether a statement (as the splitter gives it: comments out) creates, changes or drops a stored
 * routine, trigger or event, and which (`CREATE TRIGGER`, `DROP FUNCTION`, ...). The DEFINER clause
 * is read in every form the server takes, so that no spelling of it hides the kind; a statement read
 * otherwise is still caught from the parser's tree (sql-classifier).
 */
export function routineDdl(text: string): string | undefined {
  const match = ROUTINE_DDL.exec(text);
  return match ? `${(match[1] as string).toUpperCase()} ${(match[2] as string).toUpperCase()}` : undefined;
}

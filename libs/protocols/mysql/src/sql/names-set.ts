/** A character set or collation name: bare, or quoted in any of the server's quotes (no escapes). */
const NAME = String.raw`(?:\w+|'\w+'|"\w+"|` + '`\\w+`)';
const CHARSET_SET = new RegExp(
  String.raw`^SET\s+(?:NAMES|CHARACTER\s+SET|CHARSET)\s+${NAME}(?:\s+COLLATE\s+${NAME})?\s*$`,
  'i',
);

/**
 * Whether a statement (as the splitter gives it: comments out) is `SET NAMES`, `SET CHARACTER SET`
 * or `SET CHARSET` alone, which node-sql-parser does not read: it sets the client character set
 * (how the server reads later text), stores nothing and returns nothing. Forms that combine it with
 * other assignments (`SET NAMES gbk, @x = ...`) are not matched, so they stay unparsed.
 */
export function isCharsetSet(text: string): boolean {
  return CHARSET_SET.test(text);
}

import type { SqlClassification } from '../sql-classifier';

/**
 * Client encodings in which a byte below 0x80 can be the second byte of a multi-byte character: a
 * `\` or `'` there is not a backslash or a quote to the server, but is to a parser reading UTF-8.
 * (Server encodings never do this; these are client-only ones, as the server reports them.)
 */
const UNSAFE_CLIENT_ENCODINGS = new Set(['SJIS', 'SHIFT_JIS_2004', 'BIG5', 'GBK', 'UHC', 'GB18030', 'JOHAB']);

/**
 * Whether text in this encoding (as PostgreSQL names it, any case, `_` and `-` optional) may hide
 * ASCII bytes inside multi-byte characters. A name it does not know counts as such: fail closed.
 */
export function embedsAscii(encoding: string): boolean {
  const name = encoding.toUpperCase().replace(/[-_]/g, '');
  if (SAFE_ENCODINGS.has(name)) return false;
  return true;
}

/** Encodings whose every byte below 0x80 is that ASCII character (PostgreSQL's server encodings). */
const SAFE_ENCODINGS = new Set(
  [
    'UTF8',
    'UNICODE',
    'SQL_ASCII',
    'EUC_JP',
    'EUC_CN',
    'EUC_KR',
    'EUC_TW',
    'EUC_JIS_2004',
    'MULE_INTERNAL',
    'LATIN1',
    'LATIN2',
    'LATIN3',
    'LATIN4',
    'LATIN5',
    'LATIN6',
    'LATIN7',
    'LATIN8',
    'LATIN9',
    'LATIN10',
    'ISO_8859_5',
    'ISO_8859_6',
    'ISO_8859_7',
    'ISO_8859_8',
    'KOI8R',
    'KOI8U',
    'KOI8',
    'WIN866',
    'WIN874',
    'WIN1250',
    'WIN1251',
    'WIN1252',
    'WIN1253',
    'WIN1254',
    'WIN1255',
    'WIN1256',
    'WIN1257',
    'WIN1258',
  ].map((name) => name.replace(/[-_]/g, '')),
);

/**
 * Whether the server reads this session's SQL text the way the classifier does. The classifier
 * parses UTF-8 with standard_conforming_strings on; the server follows the session's settings, which
 * it reports in ParameterStatus however they were set (start-up, SET, role or database defaults, a
 * function). When they differ, the same text means other statements to the server than to the parser
 * (`'\'' ; DROP TABLE t; --'` is one string to one and a DROP to the other), so such text cannot be
 * classified. They differ only on text with a backslash (standard_conforming_strings off) or a
 * non-ASCII character (an encoding whose multi-byte characters can end in an ASCII byte); other text
 * reads the same either way. A forwarded statement that may change them leaves the reading unknown
 * until the server's ReadyForQuery for it, which comes after its ParameterStatus.
 */
export class SqlReadingState {
  private standardConformingStrings: string;
  private clientEncoding: string;
  /** Sync points (Query, Sync, FunctionCall) forwarded, and ReadyForQuery messages received. */
  private sent = 0;
  private received = 0;
  /** The reading is unknown until `received` reaches this. */
  private unknownUntil = 0;

  constructor(serverParameters: ReadonlyMap<string, string>) {
    this.standardConformingStrings = serverParameters.get('standard_conforming_strings') ?? 'on';
    this.clientEncoding = serverParameters.get('client_encoding') ?? 'UTF8';
  }

  parameterStatus(name: string, value: string): void {
    if (name === 'standard_conforming_strings') this.standardConformingStrings = value;
    if (name === 'client_encoding') this.clientEncoding = value;
  }

  /**
   * The session's client_encoding, as the server last reported it; undefined while a statement
   * forwarded may have changed it and the server has not said (it reports a change only at the next
   * ReadyForQuery, after the rest of the string ran in the new encoding).
   */
  get encoding(): string | undefined {
    return this.received < this.unknownUntil ? undefined : this.clientEncoding;
  }

  /** A message the server answers with ReadyForQuery was forwarded. */
  syncPointSent(): void {
    this.sent++;
  }

  readyForQuery(): void {
    this.received++;
  }

  /** A command is about to be forwarded (before its sync point is counted). */
  forwarding(classification: SqlClassification): void {
    if (classification.ok && classification.statements.some((s) => s.changesSqlReading))
      this.unknownUntil = this.sent + 1;
  }

  /** Why `text` cannot be classified now, or undefined when the server reads it as the parser does. */
  issue(text: string): string | undefined {
    const backslash = text.includes('\\');
    const nonAscii = /[\u0080-\u{10ffff}]/u.test(text);
    if (backslash && this.standardConformingStrings.toLowerCase() !== 'on')
      return 'standard_conforming_strings is off in this session, so the server reads backslashes in strings differently from the parser';
    if (nonAscii && UNSAFE_CLIENT_ENCODINGS.has(this.clientEncoding.toUpperCase()))
      return `client_encoding ${this.clientEncoding} can hide quotes and backslashes inside multi-byte characters`;
    if ((backslash || nonAscii) && this.received < this.unknownUntil)
      return 'an earlier statement may change how the server reads SQL (client_encoding, standard_conforming_strings); send this one after it has completed';
    return undefined;
  }
}

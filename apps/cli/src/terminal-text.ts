/**
 * Stored text (a requester's reason, a name from an IdP profile, an audit reason) as it may be
 * printed on one line of a terminal: line breaks, other C0 and C1 controls (ESC, so no colour,
 * cursor, screen or OSC sequence such as a clipboard write), DEL and the bidirectional overrides
 * that reorder what is shown are written as escapes (`\n`, `\u001b`), so the reader sees every
 * character and the terminal runs none.
 */
export function terminalText(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what it escapes
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default:
        return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    }
  });
}

export type PostgresProtocolErrorCode =
  /** A length field is smaller than the minimum for its message. */
  | 'invalid_length'
  /** A message is larger than the parser's configured maximum. */
  | 'message_too_large'
  /** A message type byte (or startup request code) that the protocol does not define. */
  | 'unknown_message'
  /** The body does not match the message's layout (truncated field, missing terminator...). */
  | 'malformed';

/**
 * The one error the protocol parsers throw. A proxy answers it with an ErrorResponse and closes the
 * connection; nothing of a malformed stream reaches the server.
 */
export class PostgresProtocolError extends Error {
  constructor(
    readonly code: PostgresProtocolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PostgresProtocolError';
  }
}

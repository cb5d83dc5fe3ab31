export type MysqlProtocolErrorCode = 'malformed' | 'too-large' | 'unexpected';

/** Bytes that are not the MySQL protocol, or a packet larger than the session allows. */
export class MysqlProtocolError extends Error {
  constructor(
    readonly code: MysqlProtocolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MysqlProtocolError';
  }
}

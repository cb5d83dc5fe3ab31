/** Messages the server sends, as plain objects tagged by `name`. */

export interface FieldDescription {
  name: string;
  /** OID of the source table, or 0 if the column is not a simple table column. */
  tableId: number;
  /** Attribute number of the column in that table, or 0. */
  columnId: number;
  dataTypeId: number;
  dataTypeSize: number;
  dataTypeModifier: number;
  /** 0 text, 1 binary. */
  format: number;
}

/** Overall COPY format (0 text, 1 binary) and the format of each column. */
export interface CopyFormats {
  format: number;
  columnFormats: number[];
}

/** ErrorResponse/NoticeResponse fields by their one-letter code (S, V, C, M, D, H, P, ...). */
export type NoticeFields = Record<string, string>;

export type BackendMessage =
  | { name: 'authenticationOk' }
  | { name: 'authenticationCleartextPassword' }
  | { name: 'authenticationMD5Password'; salt: Buffer }
  | { name: 'authenticationSASL'; mechanisms: string[] }
  | { name: 'authenticationSASLContinue'; data: Buffer }
  | { name: 'authenticationSASLFinal'; data: Buffer }
  /** Kerberos, GSS, SSPI: not supported by Tollgate, carried so they can be refused clearly. */
  | { name: 'authenticationOther'; code: number; data: Buffer }
  | { name: 'backendKeyData'; processId: number; secretKey: number }
  | { name: 'bindComplete' }
  | { name: 'closeComplete' }
  | { name: 'commandComplete'; tag: string }
  | { name: 'copyData'; data: Buffer }
  | { name: 'copyDone' }
  | ({ name: 'copyInResponse' } & CopyFormats)
  | ({ name: 'copyOutResponse' } & CopyFormats)
  | ({ name: 'copyBothResponse' } & CopyFormats)
  | { name: 'dataRow'; values: (Buffer | null)[] }
  | { name: 'emptyQueryResponse' }
  | { name: 'errorResponse'; fields: NoticeFields }
  | { name: 'functionCallResponse'; value: Buffer | null }
  | { name: 'negotiateProtocolVersion'; newestMinorVersion: number; unrecognizedOptions: string[] }
  | { name: 'noData' }
  | { name: 'noticeResponse'; fields: NoticeFields }
  | { name: 'notificationResponse'; processId: number; channel: string; payload: string }
  | { name: 'parameterDescription'; dataTypeIds: number[] }
  | { name: 'parameterStatus'; parameter: string; value: string }
  | { name: 'parseComplete' }
  | { name: 'portalSuspended' }
  | { name: 'readyForQuery'; status: 'I' | 'T' | 'E' }
  | { name: 'rowDescription'; fields: FieldDescription[] };

export type BackendMessageName = BackendMessage['name'];

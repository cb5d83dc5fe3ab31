import type { BackendMessage, FieldDescription, NoticeFields } from './backend-messages';
import { BufferReader } from './buffer-reader';
import { DEFAULT_MAX_MESSAGE_LENGTH, printable, TaggedFrameReader, type TaggedFrame } from './frame-reader';
import { AuthCode, BackendCode } from './message-codes';
import { PostgresProtocolError } from './protocol-error';

export type BackendMessageCallback = (message: BackendMessage, frame: Buffer) => void;

/**
 * Parses what a PostgreSQL server sends. No I/O: feed it chunks as they arrive; it keeps partial
 * frames itself and calls back once per whole message with the parsed message and its raw bytes.
 */
export class BackendMessageParser {
  private readonly reader: TaggedFrameReader;

  constructor(options: { maxMessageLength?: number } = {}) {
    this.reader = new TaggedFrameReader(options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH);
  }

  parse(chunk: Buffer, callback: BackendMessageCallback): void {
    this.reader.push(chunk);
    for (let next = this.reader.next(); next; next = this.reader.next()) {
      callback(parseBackendFrame(next), next.frame);
    }
  }

  /**
   * Like `parse`, without decoding: calls back once per whole message with its type byte and raw
   * bytes, for a relay that decodes only the messages it has to look into (parseBackendFrame).
   */
  frames(chunk: Buffer, callback: (frame: TaggedFrame) => void): void {
    this.reader.push(chunk);
    for (let next = this.reader.next(); next; next = this.reader.next()) callback(next);
  }

  /** Bytes received but not yet a whole message. */
  get buffered(): number {
    return this.reader.buffered;
  }
}

export function parseBackendFrame({ code, frame }: TaggedFrame): BackendMessage {
  const r = new BufferReader(frame, 5, frame.length, `server message '${printable(code)}'`);
  const message = parseBody(code, r);
  r.expectEnd();
  return message;
}

function parseBody(code: number, r: BufferReader): BackendMessage {
  switch (code as BackendCode) {
    case BackendCode.Authentication:
      return parseAuthentication(r);
    case BackendCode.BackendKeyData:
      return { name: 'backendKeyData', processId: r.int32(), secretKey: r.int32() };
    case BackendCode.BindComplete:
      return { name: 'bindComplete' };
    case BackendCode.CloseComplete:
      return { name: 'closeComplete' };
    case BackendCode.CommandComplete:
      return { name: 'commandComplete', tag: r.cstring() };
    case BackendCode.CopyData:
      return { name: 'copyData', data: r.rest() };
    case BackendCode.CopyDone:
      return { name: 'copyDone' };
    case BackendCode.CopyInResponse:
      return { name: 'copyInResponse', ...parseCopyResponse(r) };
    case BackendCode.CopyOutResponse:
      return { name: 'copyOutResponse', ...parseCopyResponse(r) };
    case BackendCode.CopyBothResponse:
      return { name: 'copyBothResponse', ...parseCopyResponse(r) };
    case BackendCode.DataRow:
      return parseDataRow(r);
    case BackendCode.EmptyQueryResponse:
      return { name: 'emptyQueryResponse' };
    case BackendCode.ErrorResponse:
      return { name: 'errorResponse', fields: parseNoticeFields(r) };
    case BackendCode.FunctionCallResponse:
      return { name: 'functionCallResponse', value: r.nullableBytes() };
    case BackendCode.NegotiateProtocolVersion: {
      const newestMinorVersion = r.int32();
      const count = r.count(r.int32(), 1);
      const unrecognizedOptions: string[] = [];
      for (let i = 0; i < count; i++) unrecognizedOptions.push(r.cstring());
      return { name: 'negotiateProtocolVersion', newestMinorVersion, unrecognizedOptions };
    }
    case BackendCode.NoData:
      return { name: 'noData' };
    case BackendCode.NoticeResponse:
      return { name: 'noticeResponse', fields: parseNoticeFields(r) };
    case BackendCode.NotificationResponse:
      return {
        name: 'notificationResponse',
        processId: r.int32(),
        channel: r.cstring(),
        payload: r.cstring(),
      };
    case BackendCode.ParameterDescription: {
      const count = r.count(r.uint16(), 4);
      const dataTypeIds: number[] = [];
      for (let i = 0; i < count; i++) dataTypeIds.push(r.uint32());
      return { name: 'parameterDescription', dataTypeIds };
    }
    case BackendCode.ParameterStatus:
      return { name: 'parameterStatus', parameter: r.cstring(), value: r.cstring() };
    case BackendCode.ParseComplete:
      return { name: 'parseComplete' };
    case BackendCode.PortalSuspended:
      return { name: 'portalSuspended' };
    case BackendCode.ReadyForQuery: {
      const status = String.fromCharCode(r.byte());
      if (status !== 'I' && status !== 'T' && status !== 'E') {
        throw new PostgresProtocolError('malformed', `ReadyForQuery has unknown status '${status}'`);
      }
      return { name: 'readyForQuery', status };
    }
    case BackendCode.RowDescription:
      return parseRowDescription(r);
    default:
      throw new PostgresProtocolError('unknown_message', `unknown server message type '${printable(code)}'`);
  }
}

function parseAuthentication(r: BufferReader): BackendMessage {
  const code = r.int32();
  switch (code as AuthCode) {
    case AuthCode.Ok:
      return { name: 'authenticationOk' };
    case AuthCode.CleartextPassword:
      return { name: 'authenticationCleartextPassword' };
    case AuthCode.MD5Password:
      return { name: 'authenticationMD5Password', salt: r.bytes(4) };
    case AuthCode.SASL: {
      const mechanisms: string[] = [];
      for (let mechanism = r.cstring(); mechanism !== ''; mechanism = r.cstring()) mechanisms.push(mechanism);
      return { name: 'authenticationSASL', mechanisms };
    }
    case AuthCode.SASLContinue:
      return { name: 'authenticationSASLContinue', data: r.rest() };
    case AuthCode.SASLFinal:
      return { name: 'authenticationSASLFinal', data: r.rest() };
    case AuthCode.KerberosV5:
    case AuthCode.GSS:
    case AuthCode.GSSContinue:
    case AuthCode.SSPI:
      return { name: 'authenticationOther', code, data: r.rest() };
    default:
      throw new PostgresProtocolError('unknown_message', `unknown authentication request ${code}`);
  }
}

function parseCopyResponse(r: BufferReader): { format: number; columnFormats: number[] } {
  const format = r.byte();
  const count = r.count(r.int16(), 2);
  const columnFormats: number[] = [];
  for (let i = 0; i < count; i++) columnFormats.push(r.int16());
  return { format, columnFormats };
}

function parseDataRow(r: BufferReader): BackendMessage {
  const count = r.count(r.int16(), 4);
  const values: (Buffer | null)[] = new Array<Buffer | null>(count);
  for (let i = 0; i < count; i++) values[i] = r.nullableBytes();
  return { name: 'dataRow', values };
}

function parseRowDescription(r: BufferReader): BackendMessage {
  const count = r.count(r.int16(), 19);
  const fields: FieldDescription[] = [];
  for (let i = 0; i < count; i++) {
    fields.push({
      name: r.cstring(),
      tableId: r.uint32(),
      columnId: r.int16(),
      dataTypeId: r.uint32(),
      dataTypeSize: r.int16(),
      dataTypeModifier: r.int32(),
      format: r.int16(),
    });
  }
  return { name: 'rowDescription', fields };
}

function parseNoticeFields(r: BufferReader): NoticeFields {
  const fields: NoticeFields = {};
  for (let type = r.byte(); type !== 0; type = r.byte()) fields[String.fromCharCode(type)] = r.cstring();
  return fields;
}

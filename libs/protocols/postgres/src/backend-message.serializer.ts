import type { BackendMessage, FieldDescription, NoticeFields } from './backend-messages';
import { BufferWriter } from './buffer-writer';
import { AuthCode, BackendCode } from './message-codes';

/** Serializes a server message; the inverse of BackendMessageParser. */
export function serializeBackendMessage(message: BackendMessage): Buffer {
  const w = new BufferWriter();
  switch (message.name) {
    case 'authenticationOk':
      return w.int32(AuthCode.Ok).message(BackendCode.Authentication);
    case 'authenticationCleartextPassword':
      return w.int32(AuthCode.CleartextPassword).message(BackendCode.Authentication);
    case 'authenticationMD5Password':
      return w.int32(AuthCode.MD5Password).bytes(message.salt).message(BackendCode.Authentication);
    case 'authenticationSASL': {
      w.int32(AuthCode.SASL);
      for (const mechanism of message.mechanisms) w.cstring(mechanism);
      return w.byte(0).message(BackendCode.Authentication);
    }
    case 'authenticationSASLContinue':
      return w.int32(AuthCode.SASLContinue).bytes(message.data).message(BackendCode.Authentication);
    case 'authenticationSASLFinal':
      return w.int32(AuthCode.SASLFinal).bytes(message.data).message(BackendCode.Authentication);
    case 'authenticationOther':
      return w.int32(message.code).bytes(message.data).message(BackendCode.Authentication);
    case 'backendKeyData':
      return w.int32(message.processId).int32(message.secretKey).message(BackendCode.BackendKeyData);
    case 'bindComplete':
      return w.message(BackendCode.BindComplete);
    case 'closeComplete':
      return w.message(BackendCode.CloseComplete);
    case 'commandComplete':
      return w.cstring(message.tag).message(BackendCode.CommandComplete);
    case 'copyData':
      return w.bytes(message.data).message(BackendCode.CopyData);
    case 'copyDone':
      return w.message(BackendCode.CopyDone);
    case 'copyInResponse':
    case 'copyOutResponse':
    case 'copyBothResponse': {
      w.byte(message.format).int16(message.columnFormats.length);
      for (const format of message.columnFormats) w.int16(format);
      const code = {
        copyInResponse: BackendCode.CopyInResponse,
        copyOutResponse: BackendCode.CopyOutResponse,
        copyBothResponse: BackendCode.CopyBothResponse,
      }[message.name];
      return w.message(code);
    }
    case 'dataRow':
      return serializeDataRow(message.values);
    case 'emptyQueryResponse':
      return w.message(BackendCode.EmptyQueryResponse);
    case 'errorResponse':
      return writeNoticeFields(w, message.fields).message(BackendCode.ErrorResponse);
    case 'noticeResponse':
      return writeNoticeFields(w, message.fields).message(BackendCode.NoticeResponse);
    case 'functionCallResponse':
      return w.nullableBytes(message.value).message(BackendCode.FunctionCallResponse);
    case 'negotiateProtocolVersion': {
      w.int32(message.newestMinorVersion).int32(message.unrecognizedOptions.length);
      for (const option of message.unrecognizedOptions) w.cstring(option);
      return w.message(BackendCode.NegotiateProtocolVersion);
    }
    case 'noData':
      return w.message(BackendCode.NoData);
    case 'notificationResponse':
      return w
        .int32(message.processId)
        .cstring(message.channel)
        .cstring(message.payload)
        .message(BackendCode.NotificationResponse);
    case 'parameterDescription': {
      w.int16(message.dataTypeIds.length);
      for (const id of message.dataTypeIds) w.uint32(id);
      return w.message(BackendCode.ParameterDescription);
    }
    case 'parameterStatus':
      return w.cstring(message.parameter).cstring(message.value).message(BackendCode.ParameterStatus);
    case 'parseComplete':
      return w.message(BackendCode.ParseComplete);
    case 'portalSuspended':
      return w.message(BackendCode.PortalSuspended);
    case 'readyForQuery':
      return w.byte(message.status.charCodeAt(0)).message(BackendCode.ReadyForQuery);
    case 'rowDescription':
      return serializeRowDescription(message.fields);
  }
}

export function serializeDataRow(values: readonly (Uint8Array | null)[]): Buffer {
  const size = values.reduce((sum, v) => sum + 4 + (v ? v.length : 0), 2);
  const w = new BufferWriter(size + 5);
  w.int16(values.length);
  for (const value of values) w.nullableBytes(value);
  return w.message(BackendCode.DataRow);
}

function serializeRowDescription(fields: readonly FieldDescription[]): Buffer {
  const w = new BufferWriter();
  w.int16(fields.length);
  for (const f of fields) {
    w.cstring(f.name)
      .uint32(f.tableId)
      .int16(f.columnId)
      .uint32(f.dataTypeId)
      .int16(f.dataTypeSize)
      .int32(f.dataTypeModifier)
      .int16(f.format);
  }
  return w.message(BackendCode.RowDescription);
}

function writeNoticeFields(w: BufferWriter, fields: NoticeFields): BufferWriter {
  for (const [type, value] of Object.entries(fields)) w.byte(type.charCodeAt(0)).cstring(value);
  return w.byte(0);
}

/**
 * An ErrorResponse as a client shows it: severity, SQLSTATE and message. Used for every error that
 * Tollgate itself reports to a PostgreSQL client (denials use SQLSTATE 42501).
 */
export function errorResponse(sqlState: string, message: string, extra: NoticeFields = {}): Buffer {
  return serializeBackendMessage({
    name: 'errorResponse',
    fields: { S: 'ERROR', V: 'ERROR', C: sqlState, M: message, ...extra },
  });
}

export function fatalErrorResponse(sqlState: string, message: string): Buffer {
  return serializeBackendMessage({
    name: 'errorResponse',
    fields: { S: 'FATAL', V: 'FATAL', C: sqlState, M: message },
  });
}

export function noticeResponse(message: string, extra: NoticeFields = {}): Buffer {
  return serializeBackendMessage({
    name: 'noticeResponse',
    fields: { S: 'NOTICE', V: 'NOTICE', C: '00000', M: message, ...extra },
  });
}

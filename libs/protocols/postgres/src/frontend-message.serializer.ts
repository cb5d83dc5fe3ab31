import { BufferWriter } from './buffer-writer';
import type { FrontendMessage, StartupPacket } from './frontend-messages';
import { CANCEL_REQUEST_CODE, FrontendCode, GSSENC_REQUEST_CODE, SSL_REQUEST_CODE } from './message-codes';

/** Serializes a start-up packet; the inverse of parseStartupPacket. */
export function serializeStartupPacket(packet: StartupPacket): Buffer {
  const w = new BufferWriter();
  switch (packet.name) {
    case 'sslRequest':
      return w.int32(SSL_REQUEST_CODE).untagged();
    case 'gssEncRequest':
      return w.int32(GSSENC_REQUEST_CODE).untagged();
    case 'cancelRequest':
      return w.int32(CANCEL_REQUEST_CODE).int32(packet.processId).int32(packet.secretKey).untagged();
    case 'startupMessage': {
      w.int32(packet.protocolVersion);
      for (const [key, value] of Object.entries(packet.parameters)) w.cstring(key).cstring(value);
      return w.byte(0).untagged();
    }
  }
}

/** Serializes a client message; the inverse of FrontendMessageParser after start-up. */
export function serializeFrontendMessage(message: FrontendMessage): Buffer {
  const w = new BufferWriter();
  switch (message.name) {
    case 'query':
      return w.cstring(message.text).message(FrontendCode.Query);
    case 'parse': {
      w.cstring(message.statement).cstring(message.text).int16(message.parameterTypeIds.length);
      for (const id of message.parameterTypeIds) w.uint32(id);
      return w.message(FrontendCode.Parse);
    }
    case 'bind': {
      w.cstring(message.portal).cstring(message.statement);
      int16List(w, message.parameterFormats);
      w.int16(message.parameters.length);
      for (const parameter of message.parameters) w.nullableBytes(parameter);
      int16List(w, message.resultFormats);
      return w.message(FrontendCode.Bind);
    }
    case 'describe':
      return w.byte(message.target.charCodeAt(0)).cstring(message.objectName).message(FrontendCode.Describe);
    case 'execute':
      return w.cstring(message.portal).int32(message.maxRows).message(FrontendCode.Execute);
    case 'sync':
      return w.message(FrontendCode.Sync);
    case 'flush':
      return w.message(FrontendCode.Flush);
    case 'close':
      return w.byte(message.target.charCodeAt(0)).cstring(message.objectName).message(FrontendCode.Close);
    case 'terminate':
      return w.message(FrontendCode.Terminate);
    case 'copyData':
      return w.bytes(message.data).message(FrontendCode.CopyData);
    case 'copyDone':
      return w.message(FrontendCode.CopyDone);
    case 'copyFail':
      return w.cstring(message.message).message(FrontendCode.CopyFail);
    case 'authenticationResponse':
      return w.bytes(message.data).message(FrontendCode.AuthenticationResponse);
    case 'functionCall': {
      w.uint32(message.functionId);
      int16List(w, message.argumentFormats);
      w.int16(message.arguments.length);
      for (const argument of message.arguments) w.nullableBytes(argument);
      return w.int16(message.resultFormat).message(FrontendCode.FunctionCall);
    }
  }
}

function int16List(w: BufferWriter, values: readonly number[]): void {
  w.int16(values.length);
  for (const value of values) w.int16(value);
}

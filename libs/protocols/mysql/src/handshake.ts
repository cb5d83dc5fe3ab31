import { Capability, hasCapability } from './capabilities';
import { PayloadReader, PayloadWriter } from './payload';
import { MysqlProtocolError } from './protocol-error';

/** The server's first packet (Protocol::HandshakeV10). */
export interface ServerGreeting {
  readonly protocolVersion: number;
  readonly serverVersion: string;
  readonly connectionId: number;
  /** The nonce for the auth plugin: 20 bytes for the built-in plugins. */
  readonly authData: Buffer;
  readonly capabilities: number;
  /** MariaDB's extended capabilities (when the server clears CLIENT_MYSQL), else 0. */
  readonly mariadbCapabilities: number;
  readonly characterSet: number;
  readonly statusFlags: number;
  readonly authPlugin: string;
}

export function parseServerGreeting(payload: Buffer): ServerGreeting {
  const r = new PayloadReader(payload, 'the server greeting');
  const protocolVersion = r.u8();
  if (protocolVersion === 0xff) {
    // The server refused before greeting (too many connections, host blocked): an ERR packet.
    throw new MysqlProtocolError('unexpected', 'the server sent an error instead of a greeting');
  }
  if (protocolVersion !== 10) {
    throw new MysqlProtocolError('malformed', `unsupported handshake protocol version ${protocolVersion}`);
  }
  const serverVersion = r.nulString();
  const connectionId = r.u32();
  const part1 = r.bytes(8);
  r.u8();
  let capabilities = r.u16();
  const characterSet = r.u8();
  const statusFlags = r.u16();
  capabilities = (capabilities | (r.u16() << 16)) >>> 0;
  const authDataLength = r.u8();
  r.bytes(6);
  const extended = r.u32();
  const mariadbCapabilities = hasCapability(capabilities, Capability.LONG_PASSWORD) ? 0 : extended;
  let part2: Buffer = Buffer.alloc(0);
  if (hasCapability(capabilities, Capability.SECURE_CONNECTION)) {
    part2 = r.bytes(Math.min(Math.max(13, authDataLength - 8), r.remaining));
    // The scramble's last byte is a NUL terminator, not nonce.
    if (part2.length > 0 && part2[part2.length - 1] === 0) part2 = part2.subarray(0, -1);
  }
  const authPlugin = hasCapability(capabilities, Capability.PLUGIN_AUTH)
    ? r.nulString(true)
    : 'mysql_native_password';
  return {
    protocolVersion,
    serverVersion,
    connectionId,
    authData: Buffer.concat([part1, part2]),
    capabilities,
    mariadbCapabilities,
    characterSet,
    statusFlags,
    authPlugin,
  };
}

export function serializeServerGreeting(greeting: Omit<ServerGreeting, 'protocolVersion'>): Buffer {
  const w = new PayloadWriter()
    .u8(10)
    .nulString(greeting.serverVersion)
    .u32(greeting.connectionId)
    .raw(greeting.authData.subarray(0, 8))
    .u8(0)
    .u16(greeting.capabilities & 0xffff)
    .u8(greeting.characterSet)
    .u16(greeting.statusFlags)
    .u16(greeting.capabilities >>> 16)
    .u8(hasCapability(greeting.capabilities, Capability.PLUGIN_AUTH) ? greeting.authData.length + 1 : 0)
    .zeros(6)
    .u32(greeting.mariadbCapabilities);
  if (hasCapability(greeting.capabilities, Capability.SECURE_CONNECTION)) {
    const part2 = greeting.authData.subarray(8);
    w.raw(part2).zeros(Math.max(13 - part2.length, 1));
  }
  if (hasCapability(greeting.capabilities, Capability.PLUGIN_AUTH)) w.nulString(greeting.authPlugin);
  return w.build();
}

/** The client's answer to the greeting (Protocol::HandshakeResponse41), or the SSLRequest prefix of one. */
export interface HandshakeResponse {
  readonly capabilities: number;
  readonly maxPacketSize: number;
  readonly characterSet: number;
  readonly mariadbCapabilities: number;
  /** Only the 32-byte prefix was sent: the client asks for TLS before the rest. */
  readonly sslRequest: boolean;
  readonly username: string;
  readonly authResponse: Buffer;
  readonly database?: string;
  readonly authPlugin?: string;
  readonly attributes: ReadonlyMap<string, string>;
}

export function parseHandshakeResponse(payload: Buffer): HandshakeResponse {
  const r = new PayloadReader(payload, 'the handshake response');
  const capabilities = r.u32();
  if (!hasCapability(capabilities, Capability.PROTOCOL_41)) {
    throw new MysqlProtocolError('malformed', 'the client does not speak protocol 4.1');
  }
  const maxPacketSize = r.u32();
  const characterSet = r.u8();
  r.bytes(19);
  const extended = r.u32();
  const mariadbCapabilities = hasCapability(capabilities, Capability.LONG_PASSWORD) ? 0 : extended;
  const base = { capabilities, maxPacketSize, characterSet, mariadbCapabilities };
  if (r.remaining === 0) {
    return { ...base, sslRequest: true, username: '', authResponse: Buffer.alloc(0), attributes: new Map() };
  }
  const username = r.nulString();
  let authResponse: Buffer;
  if (hasCapability(capabilities, Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA)) authResponse = r.lenencBytes();
  else if (hasCapability(capabilities, Capability.SECURE_CONNECTION)) authResponse = r.bytes(r.u8());
  else authResponse = Buffer.from(r.nulString(), 'utf8');
  const database =
    hasCapability(capabilities, Capability.CONNECT_WITH_DB) && r.remaining > 0
      ? r.nulString(true)
      : undefined;
  const authPlugin =
    hasCapability(capabilities, Capability.PLUGIN_AUTH) && r.remaining > 0 ? r.nulString(true) : undefined;
  const attributes = new Map<string, string>();
  if (hasCapability(capabilities, Capability.CONNECT_ATTRS) && r.remaining > 0) {
    const attrs = new PayloadReader(r.lenencBytes(), 'the connection attributes');
    while (attrs.remaining > 0) attributes.set(attrs.lenencString(), attrs.lenencString());
  }
  return {
    ...base,
    sslRequest: false,
    username,
    authResponse,
    ...(database !== undefined ? { database } : {}),
    ...(authPlugin !== undefined ? { authPlugin } : {}),
    attributes,
  };
}

function responsePrefix(
  response: Pick<
    HandshakeResponse,
    'capabilities' | 'maxPacketSize' | 'characterSet' | 'mariadbCapabilities'
  >,
): PayloadWriter {
  return new PayloadWriter()
    .u32(response.capabilities)
    .u32(response.maxPacketSize)
    .u8(response.characterSet)
    .zeros(19)
    .u32(response.mariadbCapabilities);
}

export function serializeSslRequest(
  response: Pick<
    HandshakeResponse,
    'capabilities' | 'maxPacketSize' | 'characterSet' | 'mariadbCapabilities'
  >,
): Buffer {
  return responsePrefix(response).build();
}

export function serializeHandshakeResponse(response: Omit<HandshakeResponse, 'sslRequest'>): Buffer {
  const caps = response.capabilities;
  const w = responsePrefix(response).nulString(response.username);
  if (hasCapability(caps, Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA)) w.lenencBytes(response.authResponse);
  else w.u8(response.authResponse.length).raw(response.authResponse);
  if (hasCapability(caps, Capability.CONNECT_WITH_DB)) w.nulString(response.database ?? '');
  if (hasCapability(caps, Capability.PLUGIN_AUTH)) w.nulString(response.authPlugin ?? '');
  if (hasCapability(caps, Capability.CONNECT_ATTRS)) {
    const attrs = new PayloadWriter();
    for (const [key, value] of response.attributes) attrs.lenencString(key).lenencString(value);
    w.lenencBytes(attrs.build());
  }
  return w.build();
}

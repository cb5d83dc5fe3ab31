import { PayloadReader, PayloadWriter } from './payload';
import { MysqlProtocolError } from './protocol-error';

export interface OkPacket {
  readonly name: 'ok';
  readonly affectedRows: number;
  readonly lastInsertId: number;
  readonly statusFlags: number;
  readonly warnings: number;
  readonly info: string;
}

export interface ErrPacket {
  readonly name: 'err';
  readonly code: number;
  readonly sqlState: string;
  readonly message: string;
}

export interface EofPacket {
  readonly name: 'eof';
  readonly warnings: number;
  readonly statusFlags: number;
}

/** An OK packet's header byte is 0x00, or 0xFE when it ends a result set without EOF packets. */
export function isOkPacket(payload: Buffer): boolean {
  return payload[0] === 0x00;
}

export function isErrPacket(payload: Buffer): boolean {
  return payload[0] === 0xff;
}

/** EOF: 0xFE and shorter than 9 bytes (a row can start with 0xFE only as a longer length prefix). */
export function isEofPacket(payload: Buffer): boolean {
  return payload[0] === 0xfe && payload.length < 9;
}

export function parseOkPacket(payload: Buffer): OkPacket {
  const r = new PayloadReader(payload, 'an OK packet');
  r.u8();
  const affectedRows = r.lenenc();
  const lastInsertId = r.lenenc();
  const statusFlags = r.remaining >= 2 ? r.u16() : 0;
  const warnings = r.remaining >= 2 ? r.u16() : 0;
  const info = r.remaining > 0 ? r.rest().toString('utf8') : '';
  return { name: 'ok', affectedRows, lastInsertId, statusFlags, warnings, info };
}

export function parseErrPacket(payload: Buffer): ErrPacket {
  const r = new PayloadReader(payload, 'an ERR packet');
  if (r.u8() !== 0xff) throw new MysqlProtocolError('malformed', 'not an ERR packet');
  const code = r.u16();
  let sqlState = 'HY000';
  if (r.remaining > 0 && payload[r.offset] === 0x23 /* # */) {
    r.u8();
    sqlState = r.bytes(5).toString('latin1');
  }
  return { name: 'err', code, sqlState, message: r.rest().toString('utf8') };
}

export function parseEofPacket(payload: Buffer): EofPacket {
  const r = new PayloadReader(payload, 'an EOF packet');
  r.u8();
  return r.remaining >= 4
    ? { name: 'eof', warnings: r.u16(), statusFlags: r.u16() }
    : { name: 'eof', warnings: 0, statusFlags: 0 };
}

export function okPacket(
  options: { affectedRows?: number; statusFlags?: number; info?: string } = {},
): Buffer {
  const w = new PayloadWriter()
    .u8(0)
    .lenenc(options.affectedRows ?? 0)
    .lenenc(0)
    .u16(options.statusFlags ?? 0)
    .u16(0);
  if (options.info) w.raw(Buffer.from(options.info, 'utf8'));
  return w.build();
}

export function errPacket(code: number, sqlState: string, message: string): Buffer {
  return new PayloadWriter()
    .u8(0xff)
    .u16(code)
    .u8(0x23)
    .raw(Buffer.from(sqlState.padEnd(5, '0').slice(0, 5), 'latin1'))
    .raw(Buffer.from(message, 'utf8'))
    .build();
}

/**
 * MariaDB's progress report: an ERR-shaped packet with code 0xFFFF that a client which negotiated
 * MARIADB_CLIENT_PROGRESS reads, shows (the mariadb CLI prints `Stage: 1 of 1 '<info>' ...` on an
 * interactive terminal) and then goes on reading the same reply. Stage 1 of 1, `percent` done.
 */
export function progressPacket(info: string, percent = 0): Buffer {
  const bytes = Buffer.from(info, 'utf8');
  return new PayloadWriter()
    .u8(0xff)
    .u16(0xffff)
    .u8(1) // number of strings
    .u8(1) // stage
    .u8(1) // of stages
    .u24(Math.round(Math.min(100, Math.max(0, percent)) * 1000))
    .lenencBytes(bytes.length > 0xfff0 ? bytes.subarray(0, 0xfff0) : bytes)
    .build();
}

/** A progress report's text (see progressPacket), or undefined when the packet is not one. */
export function parseProgressPacket(payload: Buffer): string | undefined {
  if (payload.length < 9 || payload[0] !== 0xff || payload.readUInt16LE(1) !== 0xffff) return undefined;
  const r = new PayloadReader(payload, 'a progress report');
  r.bytes(9); // 0xFF, 0xFFFF, strings, stage, of stages, progress (3 bytes)
  return r.lenencBytes().toString('utf8');
}

export function eofPacket(statusFlags = 0, warnings = 0): Buffer {
  return new PayloadWriter().u8(0xfe).u16(warnings).u16(statusFlags).build();
}

/** AuthSwitchRequest (0xFE, plugin name, its nonce) during authentication. */
export function parseAuthSwitch(payload: Buffer): { plugin: string; data: Buffer } {
  const r = new PayloadReader(payload, 'an auth switch request');
  r.u8();
  const plugin = r.nulString(true);
  let data = r.rest();
  // The scramble plugins send 20 bytes and a NUL terminator; MariaDB's client_ed25519 sends a bare
  // 32-byte nonce whose last byte is 0 one time in 256, and that byte is part of what it signs.
  if (plugin !== 'client_ed25519' && data.length > 0 && data[data.length - 1] === 0)
    data = data.subarray(0, -1);
  return { plugin, data };
}

export function authSwitchPacket(plugin: string, data: Buffer): Buffer {
  return new PayloadWriter().u8(0xfe).nulString(plugin).raw(data).u8(0).build();
}

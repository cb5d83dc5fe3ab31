import { describe, expect, it } from 'vitest';
import { parseColumnDefinition } from './column-definition';
import { parseHandshakeResponse, parseServerGreeting } from './handshake';
import {
  clientPayloads,
  columnDefinitionPayload,
  framed,
  greetingSample,
  handshakeResponseSample,
  sampleColumns,
  serverPayloads,
} from './message-samples';
import { framePacket, MAX_PACKET_PAYLOAD, PacketReader, type MysqlPacket } from './packet-reader';
import { MysqlProtocolError } from './protocol-error';
import { parseErrPacket, parseOkPacket } from './response-packets';
import { parseBinaryRow, parseTextRow, serializeBinaryRow } from './rows';

function readAll(bytes: Buffer, cuts: number[], max?: number): MysqlPacket[] {
  const reader = new PacketReader(max);
  const out: MysqlPacket[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    reader.parse(bytes.subarray(start, cut), (p) => out.push(p));
    start = cut;
  }
  return out;
}

describe('MySQL packet reader', () => {
  for (const [name, payloads] of [
    ['server', serverPayloads],
    ['client', clientPayloads],
  ] as const) {
    it(`gives the same ${name} packets whatever byte the stream is split at`, () => {
      const bytes = framed(payloads);
      const whole = readAll(bytes, []).map((p) => p.payload.toString('hex'));
      expect(whole).toEqual(payloads.map((p) => p.toString('hex')));
      for (let cut = 0; cut <= bytes.length; cut++) {
        expect(readAll(bytes, [cut]).map((p) => p.payload.toString('hex'))).toEqual(whole);
      }
      expect(
        readAll(
          bytes,
          Array.from({ length: bytes.length }, (_, i) => i),
        ).map((p) => p.payload.toString('hex')),
      ).toEqual(whole);
    });
  }

  it('joins a 16 MiB packet and its continuations, including the empty one after an exact multiple', () => {
    for (const size of [MAX_PACKET_PAYLOAD, MAX_PACKET_PAYLOAD + 5]) {
      const payload = Buffer.alloc(size, 0x61);
      const { bytes, next } = framePacket(payload, 3);
      const parts = Math.floor(size / MAX_PACKET_PAYLOAD) + 1;
      expect(next).toBe((3 + parts) & 0xff);
      const packets = readAll(Buffer.concat([bytes, framePacket(Buffer.from([1]), next).bytes]), [
        1000,
        MAX_PACKET_PAYLOAD + 2,
      ]);
      expect(packets.map((p) => [p.payload.length, p.sequenceId, p.parts])).toEqual([
        [size, 3, parts],
        [1, next, 1],
      ]);
    }
  });

  it('refuses a packet larger than the session allows, before buffering it', () => {
    const header = Buffer.from([0xff, 0xff, 0x00, 0]);
    expect(() => readAll(header, [], 1024)).toThrow(MysqlProtocolError);
  });

  it('reads the greeting, the handshake response, columns and rows it frames', () => {
    const greeting = parseServerGreeting(greetingSample);
    expect(greeting).toMatchObject({
      serverVersion: '5.5.5-10.11.19-MariaDB-0+deb12u1',
      connectionId: 42,
      authPlugin: 'mysql_native_password',
    });
    expect(greeting.authData.toString()).toBe('abcdefghijklmnopqrst');
    const response = parseHandshakeResponse(handshakeResponseSample);
    expect(response).toMatchObject({
      username: 'alice',
      database: 'app',
      authPlugin: 'mysql_native_password',
      sslRequest: false,
    });
    expect(response.attributes.get('_client_name')).toBe('libmariadb');
    expect(parseColumnDefinition(columnDefinitionPayload(sampleColumns[0]!))).toEqual(sampleColumns[0]);
    expect(parseTextRow(serverPayloads[6]!, 3)).toEqual([
      Buffer.from('123-45-6789'),
      Buffer.from('36'),
      null,
    ]);
    const binary = parseBinaryRow(serverPayloads[7]!, sampleColumns);
    expect(serializeBinaryRow(binary, sampleColumns)).toEqual(serverPayloads[7]);
    expect(parseOkPacket(serverPayloads[9]!)).toMatchObject({ affectedRows: 3, info: 'Rows matched: 3' });
    expect(parseErrPacket(serverPayloads[10]!)).toMatchObject({ code: 1064, sqlState: '42000' });
  });
});

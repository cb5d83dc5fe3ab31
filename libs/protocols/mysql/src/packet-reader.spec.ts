import { describe, expect, it } from 'vitest';
import { ColumnType, parseColumnDefinition } from './column-definition';
import { parseHandshakeResponse, parseServerGreeting } from './handshake';
import {
  clientPayloads,
  columnDefinitionPayload,
  extendedColumns,
  framed,
  greetingSample,
  handshakeResponseSample,
  sampleColumns,
  serverPayloads,
} from './message-samples';
import {
  framePacket,
  framePackets,
  MAX_PACKET_PAYLOAD,
  PacketReader,
  type MysqlPacket,
} from './packet-reader';
import { MysqlProtocolError } from './protocol-error';
import { parseErrPacket, parseOkPacket } from './response-packets';
import { parseBinaryRow, parseTextRow, serializeBinaryRow } from './rows';
import { PayloadWriter } from './payload';

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

    it(`gives the same ${name} packets read in chunks of any size (packets spanning two and more chunks)`, () => {
      const bytes = framed(payloads);
      const whole = readAll(bytes, []).map((p) => p.payload.toString('hex'));
      for (let size = 2; size <= 70; size++) {
        const cuts = Array.from({ length: Math.floor(bytes.length / size) }, (_, i) => (i + 1) * size);
        expect(readAll(bytes, cuts).map((p) => p.payload.toString('hex'))).toEqual(whole);
      }
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

  it('frames many packets into one write that reads back as the same packets, numbered on, past 16 MiB and sequence 255', () => {
    const payloads = [
      Buffer.from([0x03, 0x61]),
      Buffer.alloc(0),
      Buffer.alloc(MAX_PACKET_PAYLOAD, 0x62),
      ...Array.from({ length: 300 }, (_, i) => Buffer.from(`row ${i}`)),
      Buffer.alloc(MAX_PACKET_PAYLOAD + 7, 0x63),
    ];
    const { bytes, next } = framePackets(payloads, 250);
    const packets = readAll(bytes, [3, MAX_PACKET_PAYLOAD + 9]);
    expect(packets.map((p) => p.payload.toString('hex'))).toEqual(payloads.map((p) => p.toString('hex')));
    let seq = 250;
    for (const [i, packet] of packets.entries()) {
      expect(packet.sequenceId).toBe(seq);
      const parts = Math.floor((payloads[i] as Buffer).length / MAX_PACKET_PAYLOAD) + 1;
      expect(packet.parts).toBe(parts);
      seq = (seq + parts) & 0xff;
    }
    expect(next).toBe(seq);
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

  it("reads MariaDB's extended metadata layout when the session negotiated it, and only then", () => {
    const extended = { extendedMetadata: true };
    for (const column of extendedColumns) {
      expect(parseColumnDefinition(columnDefinitionPayload(column), extended)).toEqual(column);
    }
    // What MariaDB 10.11 sent for SELECT JSON_OBJECT('id', 1) AS j, CAST('::1' AS INET6) AS ip, 1 AS x.
    const captured = [
      '03646566000000016a000601046a736f6e0c2d0048000000fd0000270000',
      '0364656600000002697000070005696e6574360c2d009c000000fe2100000000',
      '03646566000000017800000c3f0001000000038100000000',
    ].map((hex) => parseColumnDefinition(Buffer.from(hex, 'hex'), extended));
    expect(captured.map((c) => [c.name, c.type, c.characterSet, c.columnLength, c.extended])).toEqual([
      ['j', ColumnType.VAR_STRING, 45, 72, { formatName: 'json' }],
      ['ip', ColumnType.STRING, 45, 156, { dataTypeName: 'inet6' }],
      ['x', ColumnType.LONG, 63, 1, {}],
    ]);
    // Unknown chunk keys are skipped, keeping the ones after them.
    const future = new PayloadWriter().u8(7).lenencString('later').u8(1).lenencString('json').build();
    const withFuture = Buffer.concat([
      Buffer.from('03646566000000017800', 'hex'),
      Buffer.from([future.length]),
      future,
      Buffer.from('0c3f000b000000030000000000', 'hex'),
    ]);
    expect(parseColumnDefinition(withFuture, extended).extended).toEqual({ formatName: 'json' });
    // Read as the standard layout (extended metadata not negotiated), the chunks are not metadata.
    expect(parseColumnDefinition(columnDefinitionPayload(extendedColumns[2]!)).extended).toBeUndefined();
  });

  it('refuses an extended column definition cut at any byte as malformed', () => {
    for (const column of extendedColumns) {
      const payload = columnDefinitionPayload(column);
      // The two filler bytes at the end are not read.
      for (let cut = 0; cut < payload.length - 2; cut++) {
        expect(() => parseColumnDefinition(payload.subarray(0, cut), { extendedMetadata: true })).toThrow(
          MysqlProtocolError,
        );
      }
    }
  });
});

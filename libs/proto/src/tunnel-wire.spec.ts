import { describe, expect, it } from 'vitest';
import {
  ClientDown,
  DATA_ENVELOPE_HEADROOM,
  encodeDataEnvelopeAround,
  ClientTunnelRelayWire,
  ClientTunnelWire,
  ClientUp,
  dataEnvelopeOffset,
  encodeDataEnvelope,
  ENVELOPE_FRAME_FIELD,
  RelayedFrame,
  SessionVerb,
  SessionDown,
  SessionUp,
  AgentTunnelRelayWire,
  AgentTunnelWire,
} from './index';

const sizes = [0, 1, 127, 128, 16_383, 16_384, 70_000];
const payload = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31) & 0xff));

describe('hand-encoded data frames', () => {
  it.each(sizes)('decode with the generated code as the same data frame (%i bytes)', (n) => {
    const data = payload(n);
    const up = ClientUp.decode(encodeDataEnvelope(ENVELOPE_FRAME_FIELD.clientUp, data));
    expect(up).toEqual({ kind: { $case: 'frame', frame: { kind: { $case: 'data', data } } } });
    const session = SessionUp.decode(encodeDataEnvelope(ENVELOPE_FRAME_FIELD.sessionUp, [data, data]));
    expect(session.kind?.$case === 'frame' && session.kind.frame.kind?.$case === 'data').toBe(true);
    if (session.kind?.$case === 'frame' && session.kind.frame.kind?.$case === 'data') {
      expect(session.kind.frame.kind.data).toEqual(Buffer.concat([data, data]));
    }
  });

  it.each(sizes)('are found in generated encodings, with the payload offset (%i bytes)', (n) => {
    const data = payload(n);
    const encoded = Buffer.from(
      SessionDown.encode({ kind: { $case: 'frame', frame: { kind: { $case: 'data', data } } } }).finish(),
    );
    const offset = dataEnvelopeOffset(encoded, ENVELOPE_FRAME_FIELD.sessionDown);
    expect(encoded.subarray(offset)).toEqual(data);
  });

  it('leave every other message (and anything unusual) to the generated decoder', () => {
    const field = ENVELOPE_FRAME_FIELD.clientUp;
    const open = Buffer.from(
      ClientUp.encode({
        kind: {
          $case: 'openRequest',
          openRequest: { connectionName: 'db', clientAddr: '', clientVersion: '', verb: SessionVerb.CONNECT },
        },
      }).finish(),
    );
    const halfClose = Buffer.from(
      ClientUp.encode({
        kind: { $case: 'frame', frame: { kind: { $case: 'halfClose', halfClose: {} } } },
      }).finish(),
    );
    const data = encodeDataEnvelope(field, Buffer.from('abc'));
    const trailing = Buffer.concat([data, Buffer.from([0x08, 0x01])]);
    const truncated = data.subarray(0, data.length - 1);
    for (const bytes of [
      open,
      halfClose,
      trailing,
      truncated,
      Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0xff]),
    ]) {
      expect(dataEnvelopeOffset(bytes, field)).toBe(-1);
    }
    expect(dataEnvelopeOffset(data, ENVELOPE_FRAME_FIELD.sessionUp)).toBe(-1);
  });
});

describe('data envelopes encoded around a read', () => {
  it('decode as the same data frame and share the read buffer', () => {
    const buffer = Buffer.alloc(DATA_ENVELOPE_HEADROOM + 100_000, 0xee);
    const data = buffer.subarray(DATA_ENVELOPE_HEADROOM, DATA_ENVELOPE_HEADROOM + 70_000);
    data.set(payload(70_000));
    const envelope = encodeDataEnvelopeAround(ENVELOPE_FRAME_FIELD.sessionUp, data);
    expect(envelope.buffer).toBe(buffer.buffer);
    expect(SessionUp.decode(envelope)).toEqual({
      kind: { $case: 'frame', frame: { kind: { $case: 'data', data: payload(70_000) } } },
    });
    expect(envelope.equals(encodeDataEnvelope(ENVELOPE_FRAME_FIELD.sessionUp, data))).toBe(true);
  });

  it('need the headroom in front of the data', () => {
    expect(() => encodeDataEnvelopeAround(ENVELOPE_FRAME_FIELD.clientUp, Buffer.allocUnsafeSlow(10))).toThrow(
      RangeError,
    );
  });
});

describe('wire definitions', () => {
  it('the CLI and agent read data frames as views, other messages as decoded', () => {
    const data = payload(1000);
    const down = ClientTunnelWire.open.responseDeserialize(
      encodeDataEnvelope(ENVELOPE_FRAME_FIELD.clientDown, data),
    );
    expect(down).toEqual({ kind: { $case: 'frame', frame: { kind: { $case: 'data', data } } } });
    const close: ClientDown = { kind: { $case: 'close', close: { reason: 'bye', code: 0 } } };
    expect(ClientTunnelWire.open.responseDeserialize(Buffer.from(ClientDown.encode(close).finish()))).toEqual(
      close,
    );
    const sessionDown = AgentTunnelWire.session.responseDeserialize(
      encodeDataEnvelope(ENVELOPE_FRAME_FIELD.sessionDown, data),
    );
    expect(sessionDown).toEqual({ kind: { $case: 'frame', frame: { kind: { $case: 'data', data } } } });
    const pre = encodeDataEnvelope(ENVELOPE_FRAME_FIELD.clientUp, data);
    expect(ClientTunnelWire.open.requestSerialize(pre)).toBe(pre);
  });

  it('the gateway relays a client data frame to the agent as the same bytes, re-tagged', () => {
    const data = payload(70_000);
    const fromClient = ClientTunnelRelayWire.open.requestDeserialize(
      encodeDataEnvelope(ENVELOPE_FRAME_FIELD.clientUp, data),
    );
    expect(fromClient).toBeInstanceOf(RelayedFrame);
    const toAgent = AgentTunnelRelayWire.session.responseSerialize(fromClient as RelayedFrame);
    expect(SessionDown.decode(toAgent)).toEqual({
      kind: { $case: 'frame', frame: { kind: { $case: 'data', data } } },
    });

    const fromAgent = AgentTunnelRelayWire.session.requestDeserialize(
      encodeDataEnvelope(ENVELOPE_FRAME_FIELD.sessionUp, data),
    );
    const toClient = ClientTunnelRelayWire.open.responseSerialize(fromAgent as RelayedFrame);
    expect(ClientDown.decode(toClient)).toEqual({
      kind: { $case: 'frame', frame: { kind: { $case: 'data', data } } },
    });
  });

  it('the gateway still decodes control messages and rejects malformed ones', () => {
    const attach: SessionUp = {
      kind: { $case: 'attach', attach: { sessionId: 's1', instanceKey: 'k'.repeat(43) } },
    };
    expect(
      AgentTunnelRelayWire.session.requestDeserialize(Buffer.from(SessionUp.encode(attach).finish())),
    ).toEqual(attach);
    expect(() =>
      ClientTunnelRelayWire.open.requestDeserialize(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
    ).toThrow();
  });
});

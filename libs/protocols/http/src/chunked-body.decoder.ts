import { HttpProtocolError } from './http-protocol.error';

type State =
  | { kind: 'size'; line: string }
  | { kind: 'data'; remaining: number }
  | { kind: 'crlf'; seen: number }
  | { kind: 'trailers'; line: string }
  | { kind: 'done' };

/** Longest chunk-size or trailer line (the message parser refuses longer ones first). */
const MAX_LINE = 4096;

/**
 * The payload of a chunked body (RFC 9112 section 7.1), from its wire bytes split anywhere: the
 * message parser hands a relay the body as sent (framing included); a relay that rewrites the body
 * reads the payload through this. No I/O.
 */
export class ChunkedBodyDecoder {
  private state: State = { kind: 'size', line: '' };

  /** The payload bytes in this piece of the wire body (views of `wire`, no copies). */
  decode(wire: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let offset = 0;
    while (offset < wire.length) {
      const state = this.state;
      switch (state.kind) {
        case 'data': {
          const take = Math.min(state.remaining, wire.length - offset);
          out.push(wire.subarray(offset, offset + take));
          offset += take;
          state.remaining -= take;
          if (state.remaining === 0) this.state = { kind: 'crlf', seen: 0 };
          break;
        }
        case 'crlf':
          if (wire[offset] !== (state.seen === 0 ? 0x0d : 0x0a)) {
            throw new HttpProtocolError(502, 'a chunk does not end with CRLF');
          }
          offset++;
          if (++state.seen === 2) this.state = { kind: 'size', line: '' };
          break;
        case 'size':
        case 'trailers': {
          const lf = wire.indexOf(0x0a, offset);
          const end = lf === -1 ? wire.length : lf + 1;
          state.line += wire.toString('latin1', offset, end);
          offset = end;
          if (state.line.length > MAX_LINE) throw new HttpProtocolError(502, 'a chunk line is too long');
          if (lf === -1) break;
          if (!state.line.endsWith('\r\n'))
            throw new HttpProtocolError(502, 'a chunk line ends with a bare LF');
          const line = state.line.slice(0, -2);
          if (state.kind === 'trailers') {
            state.line = '';
            if (line === '') this.state = { kind: 'done' };
            break;
          }
          const size = /^([0-9A-Fa-f]{1,12})(?:[ \t]*;.*)?$/s.exec(line);
          if (!size) throw new HttpProtocolError(502, 'a chunk size is not hexadecimal');
          const length = parseInt(size[1]!, 16);
          this.state = length === 0 ? { kind: 'trailers', line: '' } : { kind: 'data', remaining: length };
          break;
        }
        case 'done':
          throw new HttpProtocolError(502, 'bytes after the last chunk');
      }
    }
    return out;
  }

  /** Whether the last chunk and the trailers were read. */
  get done(): boolean {
    return this.state.kind === 'done';
  }
}

/** One chunk on the wire (an empty payload writes nothing: a zero-size chunk would end the body). */
export function encodeChunk(payload: Buffer): Buffer {
  if (payload.length === 0) return payload;
  return Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`, 'latin1'), payload, CRLF]);
}

const CRLF = Buffer.from('\r\n', 'latin1');

/** The last chunk, without trailers. */
export const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

import type { Masker } from '@tollgate/masking';
import type { ColumnMask } from './row-masking';

/** `PGCOPY\n\377\r\n\0`: the start of every binary COPY stream. */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_LENGTH = SIGNATURE.length + 8;
/** Bytes of an unfinished tuple held across CopyData messages at most (the server sends one per message). */
const MAX_PENDING = 64 * 1024 * 1024;

export type BinaryCopyOutcome =
  { readonly data: Buffer; readonly reasons: readonly string[] } | { readonly error: string };

/**
 * Masks the rows of a binary COPY TO STDOUT stream (PostgreSQL's binary COPY file format: a header,
 * then per tuple an int16 field count and each field as an int32 length, -1 for NULL, and its
 * bytes; an int16 -1 ends it). The stream is read across CopyData messages whatever their
 * boundaries; what leaves is whole tuples only. A field masked by lineage (`plain` or `whole`)
 * becomes NULL: a binary value cannot be rewritten in place without knowing its type, which COPY
 * does not say. Content detectors read every other field's bytes (strings inside any binary
 * structure are contiguous UTF-8) and a field in which they find something becomes NULL too.
 * Anything that does not read as the format is an error: the caller ends the session.
 */
export class BinaryCopyMasker {
  private pending: Buffer = Buffer.alloc(0);
  private state: 'header' | 'tuples' | 'done' = 'header';

  constructor(
    private readonly masks: readonly ColumnMask[],
    private readonly masker: Masker,
  ) {}

  /** The masked bytes of everything complete so far (possibly none). */
  push(data: Buffer): BinaryCopyOutcome {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    const out: Buffer[] = [];
    const reasons = new Set<string>();
    let offset = 0;
    for (;;) {
      const buffer = this.pending;
      if (this.state === 'done') {
        if (offset < buffer.length) return { error: 'binary COPY data after its end marker' };
        break;
      }
      if (this.state === 'header') {
        if (buffer.length - offset < HEADER_LENGTH) break;
        if (!buffer.subarray(offset, offset + SIGNATURE.length).equals(SIGNATURE))
          return { error: 'binary COPY data without the PGCOPY signature' };
        const extension = buffer.readInt32BE(offset + SIGNATURE.length + 4);
        if (extension < 0) return { error: 'binary COPY header with a negative extension length' };
        const end = offset + HEADER_LENGTH + extension;
        if (buffer.length < end) break;
        out.push(buffer.subarray(offset, end));
        offset = end;
        this.state = 'tuples';
        continue;
      }
      const tuple = readTuple(buffer, offset);
      if ('incomplete' in tuple) break;
      if ('error' in tuple) return tuple;
      if (tuple.fields === undefined) {
        out.push(buffer.subarray(offset, tuple.end));
        offset = tuple.end;
        this.state = 'done';
        continue;
      }
      const masked = this.maskTuple(tuple.fields, reasons);
      out.push(masked ?? buffer.subarray(offset, tuple.end));
      offset = tuple.end;
    }
    this.pending = this.pending.subarray(offset);
    if (this.pending.length > MAX_PENDING) return { error: 'a binary COPY row too large to mask' };
    return { data: out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out), reasons: [...reasons] };
  }

  /** Why the stream ended before a whole tuple or its end marker arrived, if it did. */
  finish(): string | undefined {
    if (this.pending.length > 0) return 'binary COPY data ended inside a row';
    return undefined;
  }

  /** The tuple re-encoded with masked fields, or undefined when nothing in it is masked. */
  private maskTuple(fields: readonly (Buffer | null)[], reasons: Set<string>): Buffer | undefined {
    const anyMasked = this.masks.some((m) => m !== 'clear');
    const masks =
      fields.length === this.masks.length
        ? this.masks
        : new Array<ColumnMask>(fields.length).fill(anyMasked ? 'whole' : 'clear');
    let changed = false;
    const out = fields.map((field, i) => {
      if (field === null) return null;
      const mask = masks[i];
      if (mask === 'plain' || mask === 'whole') {
        reasons.add(mask === 'plain' ? 'column' : 'derived');
        changed = true;
        return null;
      }
      const found = this.masker.maskContent(field.toString('latin1'), 'text');
      if (found.reasons.length === 0) return field;
      for (const reason of found.reasons) reasons.add(reason);
      changed = true;
      return null;
    });
    return changed ? encodeTuple(out) : undefined;
  }
}

type Tuple = { readonly end: number; readonly fields?: (Buffer | null)[] };
/** A tuple not yet whole, or why the bytes are not a tuple. */
type NoTuple = { readonly incomplete: true } | { readonly error: string };
const INCOMPLETE: NoTuple = { incomplete: true };

function readTuple(buffer: Buffer, start: number): Tuple | NoTuple {
  if (buffer.length - start < 2) return INCOMPLETE;
  const count = buffer.readInt16BE(start);
  if (count === -1) return { end: start + 2 };
  if (count < 0) return { error: `binary COPY tuple with ${count} fields` };
  const fields: (Buffer | null)[] = [];
  let offset = start + 2;
  for (let i = 0; i < count; i++) {
    if (buffer.length - offset < 4) return INCOMPLETE;
    const length = buffer.readInt32BE(offset);
    offset += 4;
    if (length === -1) {
      fields.push(null);
      continue;
    }
    if (length < 0) return { error: `binary COPY field of length ${length}` };
    if (buffer.length - offset < length) return INCOMPLETE;
    fields.push(buffer.subarray(offset, offset + length));
    offset += length;
  }
  return { end: offset, fields };
}

/** One tuple in the binary COPY format. */
export function encodeTuple(fields: readonly (Buffer | null)[]): Buffer {
  const size = 2 + fields.reduce((sum, f) => sum + 4 + (f?.length ?? 0), 0);
  const out = Buffer.alloc(size);
  out.writeInt16BE(fields.length, 0);
  let offset = 2;
  for (const field of fields) {
    out.writeInt32BE(field === null ? -1 : field.length, offset);
    offset += 4;
    if (field) offset += field.copy(out, offset);
  }
  return out;
}

/** A whole binary COPY stream of `rows` (header, tuples, end marker): for tests and tools. */
export function encodeBinaryCopy(rows: readonly (readonly (Buffer | null)[])[]): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  SIGNATURE.copy(header, 0);
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1, 0);
  return Buffer.concat([header, ...rows.map(encodeTuple), trailer]);
}

/** The tuples of a whole binary COPY stream (for tests): undefined when it does not read. */
export function decodeBinaryCopy(stream: Buffer): (Buffer | null)[][] | undefined {
  if (stream.length < HEADER_LENGTH || !stream.subarray(0, SIGNATURE.length).equals(SIGNATURE))
    return undefined;
  let offset = HEADER_LENGTH + stream.readInt32BE(SIGNATURE.length + 4);
  const rows: (Buffer | null)[][] = [];
  for (;;) {
    const tuple = readTuple(stream, offset);
    if ('incomplete' in tuple || 'error' in tuple) return undefined;
    if (tuple.fields === undefined) return tuple.end === stream.length ? rows : undefined;
    rows.push(tuple.fields);
    offset = tuple.end;
  }
}

import type { ColumnMask, Masker } from '@tollgate/masking';
import { ServerStatus } from '../capabilities';
import { parseColumnDefinition, type ColumnDefinition } from '../column-definition';
import type { MysqlPacket } from '../packet-reader';
import { PayloadReader } from '../payload';
import { MysqlProtocolError } from '../protocol-error';
import {
  errPacket,
  isEofPacket,
  isErrPacket,
  isOkPacket,
  parseEofPacket,
  parseErrPacket,
  parseOkPacket,
} from '../response-packets';
import { parseBinaryRow, parseTextRow, serializeBinaryRow, serializeTextRow } from '../rows';
import type { PacketChannel } from './packet-channel';
import { maskRow } from './row-masking';

/**
 * The shape of the server's reply to a command: `query` (COM_QUERY: result sets in text rows, OK or
 * ERR, as many as MORE_RESULTS_EXISTS says), `execute` (the same with binary rows; a cursor stops it
 * after the column definitions), `fetch` (binary rows to an EOF), `prepare` (COM_STMT_PREPARE_OK and
 * its parameter and column definitions), `field-list` (column definitions to an EOF), `statistics`
 * (one string) and `single` (one OK, ERR or EOF).
 */
export type ResponseShape =
  'query' | 'execute' | 'fetch' | 'prepare' | 'field-list' | 'statistics' | 'single';

export interface RelayResult {
  rows: number;
  bytes: number;
  error?: string;
  readonly masked: Set<string>;
  /** COM_STMT_PREPARE_OK: the statement id and its result columns. */
  prepared?: { readonly id: number; readonly columns: readonly ColumnDefinition[] };
  /** The last result set's columns (an EXECUTE with a cursor: what FETCH will send). */
  columns?: readonly ColumnDefinition[];
  /** How many statements of the command answered with an OK or a result set (not an ERR). */
  answered?: number;
}

export interface RelayOptions {
  readonly target: PacketChannel;
  readonly client: PacketChannel;
  readonly shape: ResponseShape;
  readonly masker: Masker;
  /** Column definitions in MariaDB's extended metadata layout (negotiated at login). */
  readonly extendedMetadata?: boolean;
  /** For `fetch`: the columns of the statement's cursor. */
  readonly columns?: readonly ColumnDefinition[];
  /**
   * Lineage masks of the `index`th result (OK or result set) of the command, of `count` columns
   * (undefined when the session does not trace lineage).
   */
  readonly masksFor?: (index: number, count: number) => readonly ColumnMask[] | undefined;
  /**
   * Whether the server's message in an ERR answering the `index`th statement of the command is
   * withheld: the statement reads masked values, which an error can quote (`XPATH syntax error:
   * '~<value>'`, `Truncated incorrect DECIMAL value: '<value>'`). Code and SQLSTATE are kept.
   */
  readonly withholdsError?: (index: number) => boolean;
}

/**
 * Flush what is collected for the client once it is this big: framed, it stays within one tunnel
 * frame written without a copy (SOCKET_READ_BYTES, 120 KiB) unless a row is large, and under the
 * 128 KiB from which glibc maps each buffer afresh (a page fault per 4 KiB of every batch).
 */
const BATCH_BYTES = 96 * 1024;

/**
 * Relays the target's reply to one command to the client, packet by packet (re-numbered, so masking
 * may change a packet's size), masking result rows, and counting rows and bytes for the audit trail.
 * Reading stops exactly at the reply's last packet, so the next command starts in step.
 */
export async function relayResponse(options: RelayOptions): Promise<RelayResult> {
  const { target, client, masker } = options;
  const result: RelayResult = { rows: 0, bytes: 0, masked: new Set() };
  const batch: Buffer[] = [];
  let batchBytes = 0;
  /** Collects a payload for the client; true when the batch is full and must be flushed. */
  const collect = (payload: Buffer): boolean => {
    batch.push(payload);
    batchBytes += payload.length;
    result.bytes += payload.length;
    return batchBytes >= BATCH_BYTES;
  };
  const send = async (payload: Buffer) => {
    if (collect(payload)) await flush();
  };
  const flush = async () => {
    if (batch.length === 0) return;
    client.writeAll(batch.splice(0));
    batchBytes = 0;
    await client.drained();
  };
  /** The target's next packet if it is already parsed (no wait, no promise). */
  const taken = (): Buffer | undefined => {
    const packet = target.take();
    if (!packet) return undefined;
    target.sequence = (packet.sequenceId + packet.parts) & 0xff;
    return packet.payload;
  };
  const next = async (): Promise<Buffer> => {
    const ready = taken();
    if (ready) return ready;
    // Nothing more from the target yet: what is collected goes to the client while we wait.
    await flush();
    const packet: MysqlPacket = await target.next();
    target.sequence = (packet.sequenceId + packet.parts) & 0xff;
    return packet.payload;
  };
  /** Records an ERR for the audit trail; returns what the client gets (the message withheld or not). */
  const fail = (payload: Buffer, index = 0): Buffer => {
    if (!options.withholdsError?.(index)) {
      result.error = describeErr(payload);
      return payload;
    }
    const withheld = withheldErr(payload);
    result.error = describeErr(withheld);
    result.masked.add('message');
    return withheld;
  };
  const masking = masker.active;
  const layout = { extendedMetadata: options.extendedMetadata ?? false };

  const readColumns = async (count: number): Promise<ColumnDefinition[]> => {
    const columns: ColumnDefinition[] = [];
    for (let i = 0; i < count; i++) {
      const payload = taken() ?? (await next());
      // Read only for masking (binary rows, and a cursor's FETCH, are decoded by them): without a
      // rule nothing of a row is read, and the session's rules do not change while it runs.
      if (masking) columns.push(parseColumnDefinition(payload, layout));
      if (collect(payload)) await flush();
    }
    return columns;
  };
  /** Reads the EOF after column definitions; returns its status flags. */
  const readEof = async (): Promise<number> => {
    const payload = await next();
    if (!isEofPacket(payload))
      throw new MysqlProtocolError('unexpected', 'expected an EOF packet from the target');
    await send(payload);
    return parseEofPacket(payload).statusFlags;
  };
  /** Rows to the EOF (or ERR) that ends them; returns the EOF's status flags, or undefined after an ERR. */
  const readRows = async (
    columns: readonly ColumnDefinition[],
    binary: boolean,
    masks: readonly ColumnMask[] | undefined,
    index: number,
  ): Promise<number | undefined> => {
    for (;;) {
      // Rows already parsed are relayed without a promise each (a result's rows mostly arrive many
      // to a read); only an empty queue or a full batch waits.
      const payload = taken() ?? (await next());
      if (isEofPacket(payload)) {
        await send(payload);
        return parseEofPacket(payload).statusFlags;
      }
      if (isErrPacket(payload)) {
        await send(fail(payload, index));
        return undefined;
      }
      result.rows++;
      if (!masking) {
        if (collect(payload)) await flush();
        continue;
      }
      const values = binary ? parseBinaryRow(payload, columns) : parseTextRow(payload, columns.length);
      const masked = maskRow(values, columns, masker, binary, masks);
      if (masked.reasons.size === 0) {
        await send(payload);
        continue;
      }
      for (const reason of masked.reasons) result.masked.add(reason);
      await send(binary ? serializeBinaryRow(masked.values, columns) : serializeTextRow(masked.values));
    }
  };

  switch (options.shape) {
    case 'single':
    case 'statistics': {
      const payload = await next();
      await send(options.shape === 'single' && isErrPacket(payload) ? fail(payload) : payload);
      break;
    }
    case 'field-list': {
      for (;;) {
        const payload = await next();
        await send(isErrPacket(payload) ? fail(payload) : payload);
        if (isEofPacket(payload) || isErrPacket(payload)) break;
      }
      break;
    }
    case 'fetch': {
      const columns = options.columns ?? [];
      await readRows(columns, true, options.masksFor?.(0, columns.length), 0);
      break;
    }
    case 'prepare': {
      const payload = await next();
      if (isErrPacket(payload)) {
        await send(fail(payload));
        break;
      }
      await send(payload);
      const r = new PayloadReader(payload, 'COM_STMT_PREPARE_OK');
      if (r.u8() !== 0)
        throw new MysqlProtocolError('unexpected', 'expected COM_STMT_PREPARE_OK from the target');
      const id = r.u32();
      const columnCount = r.u16();
      const paramCount = r.u16();
      if (paramCount > 0) {
        await readColumns(paramCount);
        await readEof();
      }
      const columns = columnCount > 0 ? await readColumns(columnCount) : [];
      if (columnCount > 0) await readEof();
      result.prepared = { id, columns };
      break;
    }
    case 'query':
    case 'execute': {
      const binary = options.shape === 'execute';
      // Each statement of the command answers with one OK, ERR or result set (CALL with several:
      // its lineage, unknown in shape, then covers every result after it).
      let index = 0;
      for (;;) {
        const payload = await next();
        let status: number | undefined;
        if (isOkPacket(payload)) {
          await send(payload);
          const ok = parseOkPacket(payload);
          result.rows += ok.affectedRows;
          status = ok.statusFlags;
          index++;
        } else if (isErrPacket(payload)) {
          await send(fail(payload, index));
          break;
        } else if (payload[0] === 0xfb) {
          // LOCAL INFILE request: the proxy never offers CLIENT_LOCAL_FILES, so the client cannot
          // have asked for it; answer for the client with no data (the server reports an error).
          target.write(Buffer.alloc(0));
          continue;
        } else {
          const count = new PayloadReader(payload, 'a result set header').lenenc();
          await send(payload);
          const columns = await readColumns(count);
          const afterColumns = await readEof();
          result.columns = columns;
          if (binary && afterColumns & ServerStatus.CURSOR_EXISTS) break; // rows come by COM_STMT_FETCH
          status = await readRows(columns, binary, options.masksFor?.(index, count), index);
          index++;
          if (status === undefined) break;
        }
        if (!(status & ServerStatus.MORE_RESULTS_EXISTS)) break;
      }
      result.answered = index;
      break;
    }
  }
  await flush();
  return result;
}

/** The same error (code, SQLSTATE) with the server's words replaced by why they are not shown. */
function withheldErr(payload: Buffer): Buffer {
  try {
    const err = parseErrPacket(payload);
    return errPacket(
      err.code,
      err.sqlState,
      `tollgate: the server's message is withheld because the statement reads masked columns or values Tollgate cannot trace (error ${err.code}, SQLSTATE ${err.sqlState})`,
    );
  } catch {
    return errPacket(1105, 'HY000', "tollgate: the server's message is withheld (an unreadable ERR packet)");
  }
}

function describeErr(payload: Buffer): string {
  try {
    const err = parseErrPacket(payload);
    return `${err.code} (${err.sqlState}): ${err.message}`;
  } catch {
    return 'an unreadable ERR packet';
  }
}

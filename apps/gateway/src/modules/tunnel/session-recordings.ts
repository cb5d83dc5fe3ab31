import { createHash, type Hash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { RecordingChunk } from '@tollgate/proto';
import { SessionAuditService, type SessionAuditContext } from '../audit/session-audit.service';
import { StoreService } from '../store/store.service';
import { compressRecording } from './recording-compression';
import { TunnelLogger } from './tunnel-logger';

/**
 * The most the gateway stores of one recording, whatever an agent sends: the agent's own limit
 * (TOLLGATE_AGENT_RECORDING_MAX_BYTES, at most 1 GiB) plus its closing marker line. A chunk beyond
 * it is refused, and the agent ends the recorded stream.
 */
export const GATEWAY_RECORDING_CEILING_BYTES = 1024 * 1024 * 1024 + 64 * 1024;

/**
 * The most asciicast text one stored row holds (before compression). Chunks that arrive while a
 * row is being written are stored together in the next one, up to this.
 */
export const RECORDING_ROW_MAX_BYTES = 4 * 1024 * 1024;

interface OpenRecording {
  readonly key: string;
  readonly hash: Hash;
  bytes: number;
  nextSeq: number;
  /** Chunks accepted and not yet being written, in order. */
  pending: PendingChunk[];
  /** The row being written, if any (at most one per recording at a time, so rows stay in order). */
  writing: Promise<void> | undefined;
  /** Resolves when everything accepted so far is stored (or failed). */
  tail: Promise<void>;
  failed: string | undefined;
  kind: string;
  command: string;
}

interface PendingChunk {
  readonly seq: number;
  /** The chunk's asciicast text, UTF-8. */
  readonly data: Buffer;
  readonly size: number;
  readonly final: boolean;
  readonly truncated: boolean;
  readonly sha256: string | undefined;
}

/**
 * Stores the terminal recordings agents send (RecordingChunk): the text of chunks that arrive in
 * order is zstd-compressed and appended under the session and the recording's number, one row per
 * write (group commit: what arrives while a row is written goes into the next row, up to
 * RECORDING_ROW_MAX_BYTES of text), so a live session is stored as it goes and a fast one in few,
 * large rows; the last chunk sets the recording's sha256 (of the asciicast text), which also goes
 * on the session's audit chain. A chunk that cannot be stored (store error, out of order, over the
 * ceiling) is answered with RecordingRefused, so the agent ends the stream it records (fail closed).
 */
@Injectable()
export class SessionRecordings {
  private readonly open = new Map<string, OpenRecording>();

  constructor(
    private readonly store: StoreService,
    private readonly audit: SessionAuditService,
    private readonly logger: TunnelLogger,
  ) {}

  append(
    context: SessionAuditContext | undefined,
    chunk: RecordingChunk,
    refuse: (recording: number, error: string) => void,
  ): void {
    if (!context) return refuse(chunk.recording, 'not a recorded session');
    const key = `${context.sessionId}/${chunk.recording}`;
    let entry = this.open.get(key);
    if (!entry) {
      if (chunk.seq !== 0) return refuse(chunk.recording, 'the recording did not start with its first chunk');
      entry = {
        key,
        hash: createHash('sha256'),
        bytes: 0,
        nextSeq: 0,
        pending: [],
        writing: undefined,
        tail: Promise.resolve(),
        failed: undefined,
        kind: chunk.kind || 'shell',
        command: chunk.command,
      };
      this.open.set(key, entry);
    }
    const current = entry;
    const fail = (error: string) => {
      if (current.failed !== undefined) return;
      current.failed = error;
      current.pending = [];
      refuse(chunk.recording, error);
    };
    if (current.failed !== undefined) return;
    if (chunk.seq !== current.nextSeq) return fail(`chunk ${chunk.seq} arrived out of order`);
    current.nextSeq++;
    // Bytes as they arrived: counted, hashed and compressed, never decoded.
    const data = chunk.data;
    const size = data.length;
    current.bytes += size;
    if (current.bytes > GATEWAY_RECORDING_CEILING_BYTES) {
      this.open.delete(key);
      return fail(
        `the recording is larger than the gateway stores (${GATEWAY_RECORDING_CEILING_BYTES} bytes)`,
      );
    }
    current.hash.update(data);
    const sha256 = chunk.final ? current.hash.digest('hex') : undefined;
    if (chunk.final) this.open.delete(key);
    current.pending.push({
      seq: chunk.seq,
      data,
      size,
      final: chunk.final,
      truncated: chunk.truncated,
      sha256,
    });
    current.tail = this.drain(context, chunk.recording, current, fail);
    if (chunk.final && sha256) {
      void current.tail.then(() => {
        if (current.failed !== undefined) return;
        return this.audit
          .recording(context, {
            recording: chunk.recording,
            kind: current.kind,
            ...(current.command ? { command: current.command } : {}),
            bytes: current.bytes,
            sha256,
            truncated: chunk.truncated,
          })
          .then(
            () => undefined,
            (error: unknown) =>
              this.logger.log.error(
                { err: error, sessionId: context.sessionId },
                'recording event not recorded',
              ),
          );
      });
    }
  }

  /** The session's stream closed: recordings it left open stay as stored (incomplete). */
  forget(sessionId: string): void {
    for (const key of [...this.open.keys()]) if (key.startsWith(`${sessionId}/`)) this.open.delete(key);
  }

  /**
   * Writes the recording's pending chunks, a row at a time, until none are left; resolves then.
   * Called on every chunk: when a row is already being written it only waits for the writes that
   * follow it, and the chunk joins the next row.
   */
  private drain(
    context: SessionAuditContext,
    recording: number,
    entry: OpenRecording,
    fail: (error: string) => void,
  ): Promise<void> {
    if (entry.writing) return entry.tail;
    const next = async (): Promise<void> => {
      while (entry.pending.length > 0 && entry.failed === undefined) {
        const rows = takeRow(entry.pending);
        entry.pending = entry.pending.slice(rows.length);
        try {
          await this.write(context, recording, entry, rows);
        } catch (error) {
          this.logger.log.error(
            { err: error, sessionId: context.sessionId, recording },
            'recording chunk could not be stored',
          );
          this.open.delete(entry.key);
          fail('the audit store refused the recording');
        }
      }
      entry.writing = undefined;
    };
    entry.writing = next();
    return entry.writing;
  }

  private async write(
    context: SessionAuditContext,
    recording: number,
    entry: OpenRecording,
    chunks: readonly PendingChunk[],
  ): Promise<void> {
    const first = chunks[0];
    const last = chunks.at(-1)!;
    const size = chunks.reduce((sum, c) => sum + c.size, 0);
    const compressed = await compressRecording(
      chunks.length === 1
        ? first.data
        : Buffer.concat(
            chunks.map((c) => c.data),
            size,
          ),
    );
    const prisma = this.store.prisma;
    const where = { sessionId_recording: { sessionId: context.sessionId, recording } };
    const done = last.final
      ? { complete: true, endedAt: new Date(), truncated: last.truncated, sha256: last.sha256 ?? null }
      : {};
    await prisma.$transaction([
      prisma.sessionRecordingChunk.create({
        data: { sessionId: context.sessionId, recording, seq: first.seq, zstd: compressed },
      }),
      first.seq === 0
        ? prisma.sessionRecording.create({
            data: {
              sessionId: context.sessionId,
              recording,
              kind: entry.kind,
              command: entry.command || null,
              bytes: size,
              chunks: chunks.length,
              ...done,
            },
          })
        : prisma.sessionRecording.update({
            where,
            data: { bytes: { increment: size }, chunks: { increment: chunks.length }, ...done },
          }),
    ]);
  }
}

/** The first pending chunks whose text fits in one row (always at least one). */
function takeRow(pending: readonly PendingChunk[]): readonly PendingChunk[] {
  let bytes = 0;
  let count = 0;
  for (const chunk of pending) {
    if (count > 0 && bytes + chunk.size > RECORDING_ROW_MAX_BYTES) break;
    bytes += chunk.size;
    count++;
    if (chunk.final) break;
  }
  return pending.slice(0, count);
}

import { createHash, type Hash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { RecordingChunk } from '@tollgate/proto';
import { SessionAuditService, type SessionAuditContext } from '../audit/session-audit.service';
import { StoreService } from '../store/store.service';
import { TunnelLogger } from './tunnel-logger';

/**
 * The most the gateway stores of one recording, whatever an agent sends: the agent's own limit
 * (TOLLGATE_AGENT_RECORDING_MAX_BYTES, at most 1 GiB) plus its closing marker line. A chunk beyond
 * it is refused, and the agent ends the recorded stream.
 */
export const GATEWAY_RECORDING_CEILING_BYTES = 1024 * 1024 * 1024 + 64 * 1024;

interface OpenRecording {
  readonly key: string;
  readonly hash: Hash;
  bytes: number;
  nextSeq: number;
  /** Writes of this recording, in order. */
  tail: Promise<void>;
  failed: string | undefined;
  kind: string;
  command: string;
}

/**
 * Stores the terminal recordings agents send (RecordingChunk): chunks appended in order under the
 * session and the recording's number; the last one sets its sha256, which also goes on the
 * session's audit chain. A chunk that cannot be stored (store error, out of order, over the
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
      refuse(chunk.recording, error);
    };
    if (current.failed !== undefined) return;
    if (chunk.seq !== current.nextSeq) return fail(`chunk ${chunk.seq} arrived out of order`);
    current.nextSeq++;
    const size = Buffer.byteLength(chunk.data);
    current.bytes += size;
    if (current.bytes > GATEWAY_RECORDING_CEILING_BYTES) {
      this.open.delete(key);
      return fail(
        `the recording is larger than the gateway stores (${GATEWAY_RECORDING_CEILING_BYTES} bytes)`,
      );
    }
    current.hash.update(chunk.data);
    const sha256 = chunk.final ? current.hash.digest('hex') : undefined;
    if (chunk.final) this.open.delete(key);
    current.tail = current.tail.then(() =>
      this.write(context, chunk, size, sha256).then(
        () => undefined,
        (error: unknown) => {
          this.logger.log.error(
            { err: error, sessionId: context.sessionId, recording: chunk.recording },
            'recording chunk could not be stored',
          );
          this.open.delete(key);
          fail('the audit store refused the recording');
        },
      ),
    );
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

  private async write(
    context: SessionAuditContext,
    chunk: RecordingChunk,
    size: number,
    sha256: string | undefined,
  ): Promise<void> {
    const prisma = this.store.prisma;
    const where = { sessionId_recording: { sessionId: context.sessionId, recording: chunk.recording } };
    const done = chunk.final
      ? { complete: true, endedAt: new Date(), truncated: chunk.truncated, sha256 }
      : {};
    await prisma.$transaction([
      prisma.sessionRecordingChunk.create({
        data: { sessionId: context.sessionId, recording: chunk.recording, seq: chunk.seq, data: chunk.data },
      }),
      chunk.seq === 0
        ? prisma.sessionRecording.create({
            data: {
              sessionId: context.sessionId,
              recording: chunk.recording,
              kind: chunk.kind || 'shell',
              command: chunk.command || null,
              bytes: size,
              chunks: 1,
              ...done,
            },
          })
        : prisma.sessionRecording.update({
            where,
            data: { bytes: { increment: size }, chunks: { increment: 1 }, ...done },
          }),
    ]);
  }
}

import { Readable } from 'node:stream';
import { Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CloseCode } from '@tollgate/proto';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { ConflictError, NotFoundError } from '../../common/errors';
import { ValidationPipe } from '../../common/validation/validation.pipe';
import { RequireVerb } from '../identity/http/access.decorators';
import { CurrentPrincipal } from '../identity/http/current-principal.decorator';
import type { Principal } from '../identity/principal';
import { AuditReadScopes, sessionsWithin } from '../identity/rbac/audit-read-scope';
import { subjectNames, subjectsMatching } from '../identity/subjects/subject-names';
import { StoreService } from '../store/store.service';
import { AgentRegistry } from '../tunnel/agent-registry';
import { LostSessions } from '../tunnel/lost-sessions';
import { decompressRecording } from '../tunnel/recording-compression';

const listSessionsQuery = z
  .object({
    state: z.enum(['opening', 'open', 'closed']).optional(),
    subject: z.string().min(1).max(300).optional(),
    /** A person or account as people name it: a subject, an e-mail, a display name or an account name. */
    who: z.string().min(1).max(300).optional(),
    connection: z.string().min(1).max(200).optional(),
    /** Sessions started at or after this time (ISO 8601). */
    since: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

const sessionId = z.uuid();

const recordingQuery = z
  .object({
    /** Which recording of the session (1-based, in the order its streams started); default the first. */
    n: z.coerce.number().int().min(1).max(1_000_000).default(1),
  })
  .strict();

/** One terminal recording of a session (asciicast v2), as listed with the session. */
export interface RecordingView {
  readonly recording: number;
  readonly kind: string;
  readonly command: string | null;
  readonly bytes: number;
  /** All of it arrived (false while the stream runs, or when the session was cut off). */
  readonly complete: boolean;
  /** The size limit was reached: the end of the stream is not in it. */
  readonly truncated: boolean;
  readonly sha256: string | null;
  readonly startedAt: string;
  readonly endedAt: string | null;
}

/** Rows read per query while a recording is streamed out (a row holds up to 4 MiB of text). */
const RECORDING_PAGE = 4;

export interface SessionView {
  readonly id: string;
  readonly state: string;
  readonly subject: string;
  /** The person's e-mail (or name) for `user:<id>` subjects. */
  readonly subjectName?: string;
  readonly actorChain: unknown;
  readonly connection: string;
  readonly protocol: string;
  /** What the session was authorized for: connect or exec. */
  readonly verb: string;
  readonly agent: string | null;
  readonly clientAddr: string | null;
  readonly policyVersion: number | null;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly closeReason: string | null;
}

export interface SessionEventView {
  readonly seq: number;
  readonly kind: string;
  readonly at: string;
  readonly event: unknown;
  readonly hash: string;
}

/** Sessions: list and filter, inspect one with its events, kill a live one. */
@ApiTags('sessions')
@Controller('api/v1/sessions')
export class SessionsController {
  constructor(
    private readonly store: StoreService,
    private readonly registry: AgentRegistry,
    private readonly lost: LostSessions,
    private readonly readScopes: AuditReadScopes,
  ) {}

  @Get()
  @RequireVerb('audit:read')
  @ApiOperation({
    summary:
      "Sessions, newest first (filters: state, subject, who (a subject, e-mail or name), connection, since); people are named by e-mail in subjectName. Only the sessions of the connections the caller's audit:read covers.",
  })
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query(ValidationPipe.of(listSessionsQuery)) query: z.output<typeof listSessionsQuery>,
  ): Promise<{ items: SessionView[] }> {
    const prisma = this.store.prisma;
    const subjects = query.who === undefined ? undefined : await subjectsMatching(prisma, query.who);
    const rows = await prisma.session.findMany({
      where: {
        ...(query.state ? { state: query.state } : {}),
        ...(query.subject ? { subject: query.subject } : {}),
        ...(query.connection ? { connectionName: query.connection } : {}),
        ...(query.since ? { startedAt: { gte: new Date(query.since) } } : {}),
        AND: [
          ...(subjects ? [{ subject: { in: subjects } }] : []),
          sessionsWithin(await this.readScopes.of(principal)),
        ],
      },
      include: { agent: { select: { name: true } } },
      orderBy: { startedAt: 'desc' },
      take: query.limit,
    });
    const names = await subjectNames(
      prisma,
      rows.map((r) => r.subject),
    );
    return { items: rows.map((r) => view(r, names.get(r.subject))) };
  }

  @Get(':id')
  @RequireVerb('audit:read')
  @ApiOperation({ summary: 'One session with its audit events (open, commands and decisions, close)' })
  async get(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ValidationPipe.of(sessionId)) id: string,
  ): Promise<SessionView & { events: SessionEventView[]; recordings: RecordingView[] }> {
    // Out of the caller's scope is not found, as an unknown id is: nothing tells the two apart.
    const row = await this.store.prisma.session.findFirst({
      where: { AND: [{ id }, sessionsWithin(await this.readScopes.of(principal))] },
      include: { agent: { select: { name: true } } },
    });
    if (!row) throw new NotFoundError('session', id);
    const events = await this.store.prisma.sessionEvent.findMany({
      where: { sessionId: id },
      orderBy: { seq: 'asc' },
    });
    const names = await subjectNames(this.store.prisma, [row.subject]);
    const recordings = await this.store.prisma.sessionRecording.findMany({
      where: { sessionId: id },
      orderBy: { recording: 'asc' },
    });
    return {
      ...view(row, names.get(row.subject)),
      recordings: recordings.map((r) => ({
        recording: r.recording,
        kind: r.kind,
        command: r.command,
        bytes: Number(r.bytes),
        complete: r.complete,
        truncated: r.truncated,
        sha256: r.sha256,
        startedAt: r.startedAt.toISOString(),
        endedAt: r.endedAt?.toISOString() ?? null,
      })),
      events: events.map((e) => ({
        seq: e.seq,
        kind: e.kind,
        at: e.createdAt.toISOString(),
        event: e.payload,
        hash: e.hash,
      })),
    };
  }

  @Get(':id/recording')
  @RequireVerb('audit:read')
  @ApiOperation({
    summary:
      'A terminal recording of the session (SSH shell or exec, Kubernetes exec) as asciicast v2 (application/x-asciicast); n picks one of several (1-based, default 1)',
  })
  async recording(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ValidationPipe.of(sessionId)) id: string,
    @Query(ValidationPipe.of(recordingQuery)) query: z.output<typeof recordingQuery>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const prisma = this.store.prisma;
    // The session first: one out of the caller's scope is not found, whatever recordings it has.
    const session = await prisma.session.findFirst({
      where: { AND: [{ id }, sessionsWithin(await this.readScopes.of(principal))] },
      select: { id: true },
    });
    if (!session) throw new NotFoundError('session', id);
    const found = await prisma.sessionRecording.findUnique({
      where: { sessionId_recording: { sessionId: id, recording: query.n } },
    });
    if (!found) throw new NotFoundError('recording', `${query.n} of session ${id}`);
    async function* chunks(): AsyncGenerator<string | Buffer> {
      let after = -1;
      for (;;) {
        const rows = await prisma.sessionRecordingChunk.findMany({
          where: { sessionId: id, recording: query.n, seq: { gt: after } },
          orderBy: { seq: 'asc' },
          take: RECORDING_PAGE,
        });
        // Rows are compressed asciicast text (those stored before compression: the text).
        for (const r of rows) yield r.zstd ? await decompressRecording(r.zstd) : r.data;
        if (rows.length < RECORDING_PAGE) return;
        after = rows.at(-1)!.seq;
      }
    }
    void reply
      .header('content-type', 'application/x-asciicast; charset=utf-8')
      .header('x-tollgate-recording-complete', String(found.complete))
      .header('x-tollgate-recording-truncated', String(found.truncated))
      .send(Readable.from(chunks()));
  }

  @Post(':id/kill')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'End a live session: the client and target connections close. A session no live gateway relays any more is closed as lost, and the answer says so (killed: false).',
  })
  async kill(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ValidationPipe.of(sessionId)) id: string,
  ): Promise<{ id: string; killed: true } | { id: string; killed: false; closed: 'lost'; detail: string }> {
    for (const agent of this.registry.all()) {
      const abort = agent.sessions.get(id);
      if (!abort) continue;
      abort(`killed by ${principal.subject}`, CloseCode.TERMINATED);
      return { id, killed: true };
    }
    // Nobody relays it (its gateway stopped): nothing to end but the record, closed as lost now.
    const relayed = await this.lost.closeUnlessRelayed(id, principal.subject);
    if (relayed && !relayed.relayed) {
      return {
        id,
        killed: false,
        closed: 'lost',
        detail: `no gateway relays this session any more, so there was nothing to kill; it is closed as ${relayed.reason}`,
      };
    }
    // Relayed by another replica: the request is stored, and the replica relaying the session ends
    // it within half a second (LiveStreamsWatch).
    const requested = await this.store.prisma.session.updateMany({
      where: { id, state: { not: 'closed' } },
      data: { killRequestedAt: new Date(), killRequestedBy: principal.subject },
    });
    if (requested.count === 1) return { id, killed: true };
    const row = await this.store.prisma.session.findUnique({ where: { id }, select: { state: true } });
    if (!row) throw new NotFoundError('session', id);
    throw new ConflictError(`session "${id}" has already ended`);
  }
}

function view(
  row: {
    id: string;
    state: string;
    subject: string;
    actorChain: unknown;
    connectionName: string;
    protocol: string;
    verb: string;
    agent: { name: string } | null;
    clientAddr: string | null;
    policyVersion: number | null;
    startedAt: Date;
    endedAt: Date | null;
    closeReason: string | null;
  },
  subjectName: string | undefined,
): SessionView {
  return {
    id: row.id,
    state: row.state,
    ...(subjectName ? { subjectName } : {}),
    subject: row.subject,
    actorChain: row.actorChain,
    connection: row.connectionName,
    protocol: row.protocol,
    verb: row.verb,
    agent: row.agent?.name ?? null,
    clientAddr: row.clientAddr,
    policyVersion: row.policyVersion,
    startedAt: row.startedAt.toISOString(),
    endedAt: row.endedAt?.toISOString() ?? null,
    closeReason: row.closeReason,
  };
}

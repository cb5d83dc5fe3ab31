import { randomUUID } from 'node:crypto';
import { SessionAuditService, type SessionAuditContext } from '../modules/audit/session-audit.service';
import { StoreService } from '../modules/store/store.service';
import type { RunningGateway } from '../start-gateway';

/** The asciicast text `recordSession` stores as the session's first recording. */
export const RECORDED_TEXT = '{"version":2,"width":80,"height":24}\n[0.5,"o","hello\\r\\n"]\n';

/**
 * A closed-looking session on an existing connection as the gateway records one: its row and its
 * `session.open` event (in the global audit log under `connection:<name>` and in the session's own
 * chain), with a one-chunk terminal recording. For specs that read sessions back through the API.
 */
export async function recordSession(
  gateway: RunningGateway,
  connectionName: string,
  subject = 'user:ada',
): Promise<SessionAuditContext> {
  const store = gateway.resolve(StoreService);
  const connection = await store.prisma.connection.findUniqueOrThrow({ where: { name: connectionName } });
  const context: SessionAuditContext = {
    sessionId: randomUUID(),
    subject,
    actorChain: [],
    connection: { name: connection.name, protocol: connection.protocol },
    policyVersion: null,
  };
  await gateway.resolve(SessionAuditService).opened(
    context,
    { verb: 'connect' },
    {
      id: context.sessionId,
      connectionId: connection.id,
      connectionName: connection.name,
      protocol: connection.protocol,
      verb: 'connect',
      subject,
      actorChain: [],
      groups: [],
      clientAddr: '127.0.0.1',
      policyVersion: null,
      replicaId: 'test',
    },
  );
  await store.prisma.sessionRecording.create({
    data: {
      sessionId: context.sessionId,
      recording: 1,
      kind: 'shell',
      bytes: Buffer.byteLength(RECORDED_TEXT),
      chunks: 1,
      complete: true,
    },
  });
  await store.prisma.sessionRecordingChunk.create({
    data: { sessionId: context.sessionId, recording: 1, seq: 0, data: RECORDED_TEXT },
  });
  return context;
}

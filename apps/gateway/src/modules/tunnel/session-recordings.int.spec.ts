import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';
import type { SessionAuditContext } from '../audit/session-audit.service';
import { StoreService } from '../store/store.service';
import { SessionRecordings } from './session-recordings';

interface SessionDetail {
  recordings: { recording: number; bytes: number; complete: boolean; truncated: boolean; sha256: string }[];
  events: { kind: string; event: { sha256?: string; bytes?: number } }[];
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Terminal recordings as the gateway stores them (zstd-compressed rows, several chunks to a row
 * when they arrive faster than rows are written) and serves them (the asciicast text, whole).
 */
describe('session recordings (embedded store)', () => {
  let gw: TestGateway;
  let store: StoreService;
  let recordings: SessionRecordings;

  const openSession = async (): Promise<SessionAuditContext> => {
    const id = randomUUID();
    await store.prisma.session.create({
      data: {
        id,
        connectionName: 'ssh-app',
        protocol: 'ssh',
        subject: 'user:ada',
        actorChain: [],
        state: 'open',
      },
    });
    return {
      sessionId: id,
      subject: 'user:ada',
      actorChain: [],
      connection: { name: 'ssh-app', protocol: 'ssh' },
      policyVersion: null,
    };
  };
  const detail = async (id: string) =>
    (await gw.request('GET', `/api/v1/sessions/${id}`)).body as SessionDetail;
  const download = async (id: string) => {
    const response = await gw.request('GET', `/api/v1/sessions/${id}/recording`);
    expect(response.contentType).toContain('application/x-asciicast');
    return response.body as string;
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    store = gw.gateway.resolve(StoreService);
    recordings = gw.gateway.resolve(SessionRecordings);
    // The embedded store's first start (initdb) takes a minute on a loaded machine.
  }, 180_000);
  afterAll(async () => {
    await gw?.stop();
  });

  it('stores a fast recording in a few compressed rows and serves it back byte for byte, with its sha256', async () => {
    const context = await openSession();
    // 300 chunks at once, as an agent sends a stream that prints faster than the store writes:
    // terminal text with multi-byte characters, ~19 MiB in all.
    const header = '{"version":2,"width":80,"height":24}\n';
    const texts = Array.from({ length: 300 }, (_, i) =>
      Array.from(
        { length: 400 },
        (_, j) =>
          `${JSON.stringify([i + j / 1000, 'o', `ligne ${i}.${j}: café ☕ ${'x'.repeat(j % 90)}\r\n`])}\n`,
      ).join(''),
    );
    texts[0] = header + texts[0];
    const refused: string[] = [];
    texts.forEach((data, seq) =>
      recordings.append(
        context,
        {
          recording: 1,
          seq,
          kind: seq === 0 ? 'exec' : '',
          command: seq === 0 ? 'cat big.log' : '',
          data: Buffer.from(data),
          final: seq === texts.length - 1,
          truncated: false,
        },
        (_, error) => refused.push(error),
      ),
    );
    const whole = texts.join('');
    await expect
      .poll(async () => (await detail(context.sessionId)).recordings[0]?.complete, { timeout: 60_000 })
      .toBe(true);
    expect(refused).toEqual([]);
    const served = await download(context.sessionId);
    expect(served.length).toBe(whole.length);
    expect(served === whole).toBe(true);
    const { recordings: listed } = await detail(context.sessionId);
    expect(listed[0]).toMatchObject({ bytes: Buffer.byteLength(whole), sha256: sha256(whole) });
    await expect
      .poll(async () => (await detail(context.sessionId)).events.find((e) => e.kind === 'session.recording'))
      .toMatchObject({ event: { sha256: sha256(whole), bytes: Buffer.byteLength(whole) } });

    // Stored compressed, several chunks to a row.
    const rows = await store.prisma.sessionRecordingChunk.findMany({
      where: { sessionId: context.sessionId, recording: 1 },
    });
    expect(rows.length).toBeLessThan(texts.length / 4);
    expect(rows.every((r) => r.data === '' && r.zstd !== null)).toBe(true);
    const stored = rows.reduce((sum, r) => sum + r.zstd!.length, 0);
    expect(stored).toBeLessThan(Buffer.byteLength(whole) / 4);
  }, 120_000);

  it('serves a recording stored as text rows (before compression) as it was', async () => {
    const context = await openSession();
    const lines = [
      '{"version":2,"width":80,"height":24}\n',
      '[0.5,"o","é\\r\\n"]\n',
      '[1,"o","bye\\r\\n"]\n',
    ];
    await store.prisma.sessionRecording.create({
      data: {
        sessionId: context.sessionId,
        recording: 1,
        kind: 'shell',
        bytes: Buffer.byteLength(lines.join('')),
        chunks: 3,
        complete: true,
        sha256: sha256(lines.join('')),
      },
    });
    await store.prisma.sessionRecordingChunk.createMany({
      data: lines.map((data, seq) => ({ sessionId: context.sessionId, recording: 1, seq, data })),
    });
    expect(await download(context.sessionId)).toBe(lines.join(''));
  });

  it('refuses a chunk out of order and stores nothing of the recording after it', async () => {
    const context = await openSession();
    const refused: string[] = [];
    const chunk = (seq: number, data: string) =>
      recordings.append(
        context,
        {
          recording: 1,
          seq,
          kind: seq === 0 ? 'shell' : '',
          command: '',
          data: Buffer.from(data),
          final: false,
          truncated: false,
        },
        (_, error) => refused.push(error),
      );
    chunk(0, '{"version":2,"width":80,"height":24}\n');
    chunk(2, '[1,"o","skipped one"]\n');
    chunk(3, '[2,"o","after the gap"]\n');
    expect(refused).toEqual(['chunk 2 arrived out of order']);
    await expect.poll(async () => (await detail(context.sessionId)).recordings.length).toBe(1);
    expect(await download(context.sessionId)).toBe('{"version":2,"width":80,"height":24}\n');
  });
});

import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { acceptLargeHttp2Frames, TUNNEL_MAX_FRAME_BYTES } from './grpc-client-frames';

describe('acceptLargeHttp2Frames', () => {
  it('makes client connections announce large frames, so a gateway can send a tunnel message in one', async () => {
    const server = http2.createServer();
    const seen = new Promise<number | undefined>((resolve) =>
      server.once('session', (session) =>
        session.once('remoteSettings', (settings: http2.Settings) => resolve(settings.maxFrameSize)),
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    acceptLargeHttp2Frames();
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, {
      settings: { initialWindowSize: 1024 * 1024 },
    });
    try {
      expect(await seen).toBe(TUNNEL_MAX_FRAME_BYTES);
    } finally {
      client.close();
      server.close();
    }
  });
});

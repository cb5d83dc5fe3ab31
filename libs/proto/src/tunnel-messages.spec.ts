import * as grpc from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientDown,
  ClientTunnelClient,
  type ClientTunnelServer,
  ClientTunnelService,
  ClientUp,
  CloseCode,
  ControlErrorCode,
  GatewayMessage,
  Heartbeat,
  OpenFailureCode,
  Protocol,
  SessionVerb,
  StreamFrame,
  TlsMode,
} from './index';

// Every byte value, with 0x00 at both ends and in the middle, so truncation at a NUL or a text
// re-encoding anywhere on the path would show.
const binaryPayload = Buffer.concat([
  Buffer.from([0x00, 0x00, 0xff, 0x00]),
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from([0x00]),
]);

type GatewayCase = NonNullable<GatewayMessage['kind']>['$case'];

// A Record keyed by every `$case` makes this fail to compile when a case is added to
// GatewayMessage without a round-trip sample here.
const gatewaySamples: Record<GatewayCase, GatewayMessage> = {
  registered: {
    kind: {
      $case: 'registered',
      registered: {
        agentId: 'agt_01J9',
        agentName: 'edge-eu-1',
        heartbeatIntervalMs: 10_000,
        instanceId: '3f9a0c11d2e4b5a6c7d8e9f0',
      },
    },
  },
  heartbeatAck: { kind: { $case: 'heartbeatAck', heartbeatAck: {} } },
  error: {
    kind: {
      $case: 'error',
      error: { code: ControlErrorCode.INSTANCE_CONFLICT, message: 'another instance', retryAfterMs: 5_000 },
    },
  },
  bundle: {
    kind: {
      $case: 'bundle',
      bundle: {
        version: 'sha256:9f2c',
        policyDocument: 'version: 1\nroles: []\n',
        policyVersion: 7,
        connections: [
          {
            name: 'pg-prod',
            protocol: Protocol.POSTGRES,
            credentialRef: 'env:PG_PASSWORD',
            tags: { env: 'prod', pii: 'true' },
            target: {
              $case: 'postgres',
              postgres: {
                host: 'db.internal',
                port: 5432,
                database: 'app',
                username: 'tollgate',
                tls: {
                  mode: TlsMode.VERIFY_FULL,
                  caRef: 'file:/etc/ssl/pg-ca.pem',
                  serverName: '',
                  clientCertRef: '',
                  clientKeyRef: '',
                  caPem: '',
                },
              },
            },
          },
          {
            name: 'bastion',
            protocol: Protocol.SSH,
            credentialRef: 'file:/run/secrets/ssh_key',
            tags: {},
            target: {
              $case: 'ssh',
              ssh: {
                host: '10.0.0.7',
                port: 22,
                username: 'ops',
                hostKeyFingerprints: ['SHA256:abc'],
                trustOnFirstUse: false,
                privateKeyRef: 'file:/run/secrets/ssh_key',
                passphraseRef: '',
              },
            },
          },
        ],
      },
    },
  },
  openSession: {
    kind: {
      $case: 'openSession',
      openSession: {
        sessionId: 'ses_7Hq2',
        connectionName: 'pg-prod',
        context: {
          subject: 'user:alice@example.com',
          groups: ['dba'],
          scopes: ['connect', 'exec'],
          actors: [
            { subject: 'sa:pipeline', issuer: '' },
            { subject: 'sa:agent-b', issuer: 'https://idp.example.com' },
          ],
          // Far above 2^32 so a 32-bit truncation would show; well below 2^53.
          policyVersion: 4_294_967_297,
          clientAddr: '203.0.113.9:51234',
          protocol: Protocol.POSTGRES,
          verb: SessionVerb.EXEC,
          clientConnectionId: 0,
          readOnly: true,
        },
      },
    },
  },
  closeSession: {
    kind: {
      $case: 'closeSession',
      closeSession: { sessionId: 'ses_7Hq2', reason: 'terminated by bob', code: CloseCode.TERMINATED },
    },
  },
};

describe('GatewayMessage', () => {
  it.each(Object.entries(gatewaySamples))('round-trips the %s case through the wire format', (_, sample) => {
    const bytes = GatewayMessage.encode(sample).finish();
    expect(GatewayMessage.decode(bytes)).toEqual(sample);
  });

  it('refuses a 64-bit value a number cannot hold instead of rounding it', () => {
    // Heartbeat.sent_at_unix_ms = 2^60, written by hand as a non-TypeScript peer could.
    const bytes = new BinaryWriter()
      .uint32((1 << 3) | 0)
      .int64(2n ** 60n)
      .finish();
    expect(() => Heartbeat.decode(bytes)).toThrow(/MAX_SAFE_INTEGER/);
  });
});

describe('StreamFrame', () => {
  it('carries binary data, including 0x00 bytes, unchanged', () => {
    const frame: StreamFrame = { kind: { $case: 'data', data: binaryPayload } };
    const decoded = StreamFrame.decode(StreamFrame.encode(frame).finish());
    expect(decoded.kind?.$case).toBe('data');
    expect(decoded.kind?.$case === 'data' && decoded.kind.data.equals(binaryPayload)).toBe(true);
  });

  it('round-trips half-close and reset', () => {
    const frames: StreamFrame[] = [
      { kind: { $case: 'halfClose', halfClose: {} } },
      { kind: { $case: 'reset', reset: { message: 'target closed the connection: ECONNRESET' } } },
    ];
    for (const frame of frames) {
      expect(StreamFrame.decode(StreamFrame.encode(frame).finish())).toEqual(frame);
    }
  });
});

describe('ClientDown', () => {
  it('round-trips a failed open with its typed code', () => {
    const failed: ClientDown = {
      kind: {
        $case: 'openResult',
        openResult: {
          result: {
            $case: 'failed',
            failed: {
              code: OpenFailureCode.AGENT_OFFLINE,
              message: 'no agent online',
              protocol: Protocol.POSTGRES,
            },
          },
        },
      },
    };
    expect(ClientDown.decode(ClientDown.encode(failed).finish())).toEqual(failed);
  });
});

describe('ClientTunnel over grpc-js', () => {
  let server: grpc.Server;
  let client: ClientTunnelClient;
  const receivedByServer: ClientUp[] = [];
  const authorizationSeen: grpc.MetadataValue[] = [];

  // An echo gateway: answers the OpenRequest, then sends every frame straight back; a half-close
  // from the client is echoed and ends the call.
  const echoGateway: ClientTunnelServer = {
    open(call) {
      authorizationSeen.push(...call.metadata.get('authorization'));
      call.on('data', (message: ClientUp) => {
        receivedByServer.push(message);
        const kind = message.kind;
        if (kind?.$case === 'openRequest') {
          call.write({
            kind: {
              $case: 'openResult',
              openResult: {
                result: {
                  $case: 'opened',
                  opened: { sessionId: 'ses_echo', protocol: Protocol.TCP, agentName: 'echo-agent' },
                },
              },
            },
          });
        } else if (kind?.$case === 'frame') {
          call.write({ kind: { $case: 'frame', frame: kind.frame } });
          if (kind.frame.kind?.$case === 'halfClose') call.end();
        }
      });
    },
  };

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(ClientTunnelService, echoGateway);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, boundPort) =>
        error ? reject(error) : resolve(boundPort),
      ),
    );
    client = new ClientTunnelClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(() => {
    client?.close();
    server?.forceShutdown();
  });

  it('delivers typed messages intact in both directions', async () => {
    const sent: ClientUp[] = [
      {
        kind: {
          $case: 'openRequest',
          openRequest: {
            connectionName: 'tcp-echo',
            clientAddr: '127.0.0.1:40000',
            clientVersion: '0.1.0',
            verb: SessionVerb.EXEC,
          },
        },
      },
      { kind: { $case: 'frame', frame: { kind: { $case: 'data', data: binaryPayload } } } },
      { kind: { $case: 'frame', frame: { kind: { $case: 'halfClose', halfClose: {} } } } },
    ];

    const metadata = new grpc.Metadata();
    metadata.set('authorization', 'Bearer test-user-token');
    const call = client.open(metadata, { deadline: Date.now() + 10_000 });
    const received = new Promise<ClientDown[]>((resolve, reject) => {
      const messages: ClientDown[] = [];
      call.on('data', (message: ClientDown) => messages.push(message));
      call.on('end', () => resolve(messages));
      call.on('error', reject);
    });
    for (const message of sent) call.write(message);
    call.end();

    expect(await received).toEqual([
      {
        kind: {
          $case: 'openResult',
          openResult: {
            result: {
              $case: 'opened',
              opened: { sessionId: 'ses_echo', protocol: Protocol.TCP, agentName: 'echo-agent' },
            },
          },
        },
      },
      sent[1],
      sent[2],
    ]);
    expect(receivedByServer).toEqual(sent);
    expect(authorizationSeen).toEqual(['Bearer test-user-token']);
  });
});

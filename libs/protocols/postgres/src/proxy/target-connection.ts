import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { md5PasswordResponse } from '../auth/md5-password';
import { ScramError, ScramSha256Client } from '../auth/scram-sha256.client';
import { passwordMessageBody, saslInitialResponseBody } from '../authentication-response';
import { BackendMessageParser } from '../backend-message.parser';
import type { BackendMessage } from '../backend-messages';
import { serializeFrontendMessage, serializeStartupPacket } from '../frontend-message.serializer';
import { PROTOCOL_VERSION_3 } from '../message-codes';
import { SocketReader } from './socket-reader';
import { TargetConnectError } from './target-connect.error';
import type { PostgresTargetSettings } from './target-settings';

/** An authenticated connection to the target, ready for queries. */
export interface TargetConnection {
  readonly socket: Socket | TLSSocket;
  /** The parser holding any bytes that arrived after ReadyForQuery. */
  readonly parser: BackendMessageParser;
  /** ParameterStatus messages, raw, to replay to the client. */
  readonly parameterStatus: readonly Buffer[];
  readonly serverParameters: ReadonlyMap<string, string>;
  readonly backendKey: { readonly processId: number; readonly secretKey: number };
  readonly transactionStatus: 'I' | 'T' | 'E';
}

/**
 * Opens an authenticated session on the target as the connection's user and database, sending
 * `startupSettings` (setting name → value, as readStartupParameters chose them) in the start-up
 * packet; any `user` or `database` among them is ignored.
 */
export async function connectTarget(
  settings: PostgresTargetSettings,
  startupSettings: Readonly<Record<string, string>>,
): Promise<TargetConnection> {
  const socket = await openSocket(settings);
  try {
    return await startSession(socket, settings, startupSettings);
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

async function openSocket(settings: PostgresTargetSettings): Promise<Socket | TLSSocket> {
  const where = `${settings.host}:${settings.port}`;
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = netConnect({ host: settings.host, port: settings.port, noDelay: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new TargetConnectError('08001', `could not connect to the target at ${where}: timed out`, true));
    }, settings.connectTimeoutMs ?? 10_000);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new TargetConnectError(
          '08001',
          `could not connect to the target at ${where}: ${error.code ?? error.message}`,
          true,
        ),
      );
    });
  });
  if (settings.tls.mode === 'disable') return socket;

  socket.write(serializeStartupPacket({ name: 'sslRequest' }));
  const answer = await readOneByte(socket);
  // prefer: TLS when the target offers it, plain text (on the same socket) when it does not.
  if (answer !== 0x53 && settings.tls.mode === 'prefer') return socket;
  if (answer !== 0x53) {
    socket.destroy();
    throw new TargetConnectError(
      '08001',
      `the target at ${where} does not accept TLS (tls.mode is ${settings.tls.mode})`,
    );
  }
  return new Promise<TLSSocket>((resolve, reject) => {
    const verify = settings.tls.mode === 'verify-ca' || settings.tls.mode === 'verify-full';
    const tls = tlsConnect({
      socket,
      servername: /^[\d.:]+$/.test(settings.host) ? undefined : settings.host,
      ca: settings.tls.ca,
      rejectUnauthorized: verify,
      // verify-ca checks the chain but not the host name, as libpq does.
      ...(settings.tls.mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
    });
    tls.once('secureConnect', () => resolve(tls));
    tls.once('error', (error: Error) => {
      tls.destroy();
      reject(new TargetConnectError('08001', `TLS to the target at ${where} failed: ${error.message}`));
    });
  });
}

function readOneByte(socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      cleanup();
      // Anything after the single answer byte would be a protocol violation (CVE-2021-23222).
      if (chunk.length !== 1)
        reject(new TargetConnectError('08P01', 'the target sent unexpected data after its TLS answer'));
      else resolve(chunk[0] as number);
    };
    const onEnd = () => {
      cleanup();
      reject(new TargetConnectError('08001', 'the target closed the connection during TLS negotiation'));
    };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
  });
}

async function startSession(
  socket: Socket | TLSSocket,
  settings: PostgresTargetSettings,
  startupSettings: Readonly<Record<string, string>>,
): Promise<TargetConnection> {
  const parameters: Record<string, string> = { user: settings.username, database: settings.database };
  for (const [name, value] of Object.entries(startupSettings)) {
    if (!['user', 'database', 'replication'].includes(name.toLowerCase())) parameters[name] = value;
  }
  socket.write(
    serializeStartupPacket({ name: 'startupMessage', protocolVersion: PROTOCOL_VERSION_3, parameters }),
  );

  const parser = new BackendMessageParser();
  const reader = new SocketReader<BackendMessage>(
    socket,
    (chunk, emit) => parser.parse(chunk, emit),
    'the target',
  );
  const parameterStatus: Buffer[] = [];
  const serverParameters = new Map<string, string>();
  let backendKey = { processId: 0, secretKey: 0 };
  let scram: ScramSha256Client | undefined;
  const password = () => {
    if (settings.password === undefined) {
      throw new TargetConnectError(
        '28000',
        'the target asks for a password but the connection has no credential',
      );
    }
    return settings.password;
  };
  const send = (data: Buffer) =>
    socket.write(serializeFrontendMessage({ name: 'authenticationResponse', data }));

  for (;;) {
    const { message, frame } = await reader.next().catch((error: Error) => {
      throw error instanceof TargetConnectError
        ? error
        : new TargetConnectError('08006', `target: ${error.message}`);
    });
    switch (message.name) {
      case 'authenticationOk':
        break;
      case 'authenticationCleartextPassword':
        send(passwordMessageBody(password()));
        break;
      case 'authenticationMD5Password':
        send(passwordMessageBody(md5PasswordResponse(settings.username, password(), message.salt)));
        break;
      case 'authenticationSASL':
        if (!message.mechanisms.includes('SCRAM-SHA-256')) {
          throw new TargetConnectError(
            '28000',
            `the target offers no supported SASL mechanism (${message.mechanisms.join(', ')})`,
          );
        }
        scram = new ScramSha256Client(password());
        send(saslInitialResponseBody('SCRAM-SHA-256', scram.clientFirstMessage()));
        break;
      case 'authenticationSASLContinue':
        if (!scram) throw new TargetConnectError('08P01', 'the target sent SASLContinue before SASL');
        send(scramStep(() => (scram as ScramSha256Client).clientFinalMessage(message.data)));
        break;
      case 'authenticationSASLFinal':
        if (!scram) throw new TargetConnectError('08P01', 'the target sent SASLFinal before SASL');
        scramStep(() => (scram as ScramSha256Client).verifyServerFinal(message.data));
        break;
      case 'authenticationOther':
        throw new TargetConnectError(
          '28000',
          `the target asks for an authentication method Tollgate does not support (${message.code})`,
        );
      case 'parameterStatus':
        parameterStatus.push(frame);
        serverParameters.set(message.parameter, message.value);
        break;
      case 'backendKeyData':
        backendKey = { processId: message.processId, secretKey: message.secretKey };
        break;
      case 'noticeResponse':
        break;
      case 'negotiateProtocolVersion':
        break;
      case 'errorResponse': {
        const code = message.fields['C'] ?? '08006';
        const text = message.fields['M'] ?? 'unknown error';
        throw new TargetConnectError(
          code,
          code.startsWith('28') ? `target authentication failed: ${text}` : `target: ${text}`,
        );
      }
      case 'readyForQuery': {
        const leftovers = reader.detach();
        if (leftovers.length > 0)
          throw new TargetConnectError('08P01', 'the target sent messages before the first query');
        return {
          socket,
          parser,
          parameterStatus,
          serverParameters,
          backendKey,
          transactionStatus: message.status,
        };
      }
      default:
        throw new TargetConnectError('08P01', `unexpected ${message.name} from the target during start-up`);
    }
  }
}

function scramStep<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof ScramError) throw new TargetConnectError('28000', error.message);
    throw error;
  }
}

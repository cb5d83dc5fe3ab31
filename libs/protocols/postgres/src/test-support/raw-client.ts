import { connect } from 'node:net';
import { BackendMessageParser } from '../backend-message.parser';
import type { BackendMessage } from '../backend-messages';
import type { FrontendMessage } from '../frontend-messages';
import { serializeFrontendMessage, serializeStartupPacket } from '../frontend-message.serializer';

/**
 * A client speaking the protocol message by message through a session server on `port`: `send`
 * writes messages and resolves with what the server answered up to the next ReadyForQuery.
 */
export async function rawClient(port: number, parameters: Record<string, string> = {}) {
  const socket = connect(port, '127.0.0.1');
  const parser = new BackendMessageParser();
  let received: BackendMessage[] = [];
  let waiting: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) =>
    parser.parse(chunk, (message) => {
      received.push(message);
      if (message.name === 'readyForQuery') waiting?.();
    }),
  );
  const untilReady = () =>
    new Promise<BackendMessage[]>((resolve) => {
      waiting = () => {
        waiting = undefined;
        const answer = received;
        received = [];
        resolve(answer);
      };
    });
  const ready = untilReady();
  socket.write(
    serializeStartupPacket({
      name: 'startupMessage',
      protocolVersion: 196608,
      parameters: { user: 'me', database: 'app', ...parameters },
    }),
  );
  await ready;
  return {
    send: (...messages: FrontendMessage[]) => {
      const answer = untilReady();
      for (const message of messages) socket.write(serializeFrontendMessage(message));
      return answer;
    },
    end: () => socket.end(),
  };
}

/** The error in an answer of rawClient's `send` (undefined when there is none). */
export function errorOf(answer: BackendMessage[]) {
  const error = answer.find((m) => m.name === 'errorResponse');
  return error?.name === 'errorResponse'
    ? { code: error.fields['C'], message: error.fields['M'] ?? '' }
    : undefined;
}

/** A Bind of `statement` to `portal` with no parameters, text results. */
export const bind = (statement: string, portal = ''): FrontendMessage => ({
  name: 'bind',
  portal,
  statement,
  parameterFormats: [],
  parameters: [],
  resultFormats: [],
});

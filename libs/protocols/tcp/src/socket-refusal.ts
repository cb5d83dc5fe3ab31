import type { Socket } from 'node:net';
import type { ProtocolRefuser, Refusal, RefusalDialogue } from './session-refusal';
import { resetSocket } from './socket-reset';

/** How long a refused client has to say enough for the refusal to be said (then it is reset). */
const REFUSAL_TIMEOUT_MS = 10_000;

/** The protocol a refused client speaks, when the listener knows it; else the ones it may speak. */
export type RefusedClient =
  { readonly protocol: ProtocolRefuser } | { readonly oneOf: readonly ProtocolRefuser[] };

/**
 * Tells a client connected to `socket` why its session is refused, in its own protocol, then
 * closes. When the listener does not know the protocol, the client's first bytes pick the refuser
 * that recognizes them. A client no refuser recognizes, or that says too little in time, is reset.
 * Resolves whether the refusal was said in protocol.
 */
export function refuseSocket(
  socket: Socket,
  client: RefusedClient,
  refusal: Refusal,
  timeoutMs = REFUSAL_TIMEOUT_MS,
): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let candidates =
      'protocol' in client ? [] : client.oneOf.filter((refuser) => refuser.recognizes !== undefined);
    let dialogue: RefusalDialogue | undefined;
    let opening = Buffer.alloc(0);
    let settled = false;
    const settle = (said: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      if (!said) resetSocket(socket);
      resolve(said);
    };
    const timer = setTimeout(() => settle(false), timeoutMs);
    timer.unref();

    const start = (refuser: ProtocolRefuser) => {
      dialogue = refuser.refuseOpening(refusal);
      if (dialogue.greeting) socket.write(dialogue.greeting);
    };
    const talk = (bytes: Buffer) => {
      let answer: ReturnType<RefusalDialogue['receive']>;
      try {
        answer = (dialogue as RefusalDialogue).receive(bytes);
      } catch {
        return settle(false);
      }
      const { reply, done } = answer;
      if (done) {
        settle(true);
        // The client reads the refusal and closes; one that does not is cut off.
        if (reply) socket.end(reply);
        else socket.end();
        setTimeout(() => socket.destroy(), timeoutMs).unref();
      } else if (reply) socket.write(reply);
    };
    const onData = (chunk: Buffer) => {
      if (dialogue) return talk(chunk);
      opening = Buffer.concat([opening, chunk]);
      candidates = candidates.filter((refuser) => refuser.recognizes?.(opening) !== false);
      const chosen = candidates.find((refuser) => refuser.recognizes?.(opening) === true);
      if (chosen) {
        start(chosen);
        return talk(opening);
      }
      if (candidates.length === 0) settle(false);
    };

    socket.on('error', () => settle(false));
    socket.once('close', () => settle(false));
    socket.on('data', onData);
    if ('protocol' in client) start(client.protocol);
    else if (candidates.length === 0) return settle(false);
    socket.resume();
  });
}

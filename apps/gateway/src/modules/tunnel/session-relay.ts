import type { ServerDuplexStream } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  CloseCode,
  RelayedFrame,
  type ClientDown,
  type ClientUp,
  type SessionUp,
  type StreamFrame,
} from '@tollgate/proto';
import type { AgentSessionCall } from './pending-sessions';

/**
 * How long an agent has to end a session the gateway ends (cancel at the target, report, close)
 * before its stream is cut. Longer than the PostgreSQL engine's wait for a cancel's confirmation.
 */
export const AGENT_CLOSE_GRACE_MS = 5_000;

/** relaySession's reason when neither side reset, failed or was cut off: both finished on their own. */
export const NORMAL_CLOSE = 'closed';

/** A client's Open stream; data frames cross it as RelayedFrame (see ClientTunnelRelayWire). */
export type ClientCall = ServerDuplexStream<ClientUp | RelayedFrame, ClientDown | RelayedFrame>;

/**
 * Pipes an open session between the client's Open stream and the agent's Session stream. Frames
 * are passed through as they are (data frames as the bytes they arrived as); a full destination
 * pauses the source, so each session's HTTP/2 flow control (not gateway memory) absorbs a slow
 * reader. Resolves with the reason it ended.
 */
export function relaySession(
  client: ClientCall,
  agent: AgentSessionCall,
  /** The agent's other session messages (command audit, approval requests). */
  onAgentMessage: (message: SessionUp) => void = () => undefined,
): {
  done: Promise<string>;
  abort(reason: string, code: CloseCode): void;
  interrupt(reason: string): boolean;
} {
  let abort: (reason: string, code: CloseCode) => void = () => undefined;
  let interrupt: (reason: string) => boolean = () => false;
  const done = new Promise<string>((resolve) => {
    let reason: string | undefined;
    let clientClosed = false;
    let agentClosed = false;
    // Set when one side ended normally and we finished the other side's call in turn: that call's
    // close (grpc-js may report it without an 'end') is then the normal end of the session.
    let clientFinishedByUs = false;
    /** The gateway ended the session (abort): the agent is finishing it at the target. */
    let ending = false;
    let agentFinishedByUs = false;
    const settle = () => {
      if (clientClosed && agentClosed) resolve(reason ?? NORMAL_CLOSE);
    };
    const noteReason = (text: string) => {
      reason ??= text;
    };

    let clientWaiting = false;
    client.on('data', (message: ClientUp | RelayedFrame) => {
      let out: RelayedFrame | { kind: { $case: 'frame'; frame: StreamFrame } };
      if (message instanceof RelayedFrame) out = message;
      else if (message.kind?.$case === 'frame') {
        const frame = message.kind.frame;
        if (frame.kind?.$case === 'reset') noteReason(`client reset: ${frame.kind.reset.message}`);
        out = { kind: { $case: 'frame', frame } };
      } else return;
      if (agent.writableEnded) return;
      if (!agent.write(out) && !clientWaiting) {
        clientWaiting = true;
        client.pause();
        agent.once('drain', () => {
          clientWaiting = false;
          client.resume();
        });
      }
    });

    let agentWaiting = false;
    agent.on('data', (message: SessionUp | RelayedFrame) => {
      let out: RelayedFrame | { kind: { $case: 'frame'; frame: StreamFrame } };
      if (message instanceof RelayedFrame) out = message;
      else if (message.kind?.$case === 'frame') {
        const frame = message.kind.frame;
        if (frame.kind?.$case === 'reset') noteReason(`target reset: ${frame.kind.reset.message}`);
        out = { kind: { $case: 'frame', frame } };
      } else return onAgentMessage(message);
      if (client.writableEnded) return;
      if (!client.write(out) && !agentWaiting) {
        agentWaiting = true;
        agent.pause();
        client.once('drain', () => {
          agentWaiting = false;
          agent.resume();
        });
      }
    });

    // The client finished (it ends its stream after both directions closed) or went away.
    const clientGone = (ended: boolean) => {
      if (clientClosed) return;
      clientClosed = true;
      const normal = ended || clientFinishedByUs;
      if (!normal) noteReason('client disconnected');
      // An ending agent finishes on its own (see abort).
      if (!agent.writableEnded && !ending) {
        if (!normal)
          agent.write({
            kind: { $case: 'close', close: { reason: 'client disconnected', code: CloseCode.NORMAL } },
          });
        else agentFinishedByUs = true;
        agent.end();
      }
      settle();
    };
    const agentGone = (ended: boolean) => {
      if (agentClosed) return;
      agentClosed = true;
      const normal = ended || agentFinishedByUs;
      if (!normal) noteReason('the agent connection was lost');
      if (ending && !agent.writableEnded) agent.end();
      if (!client.writableEnded) {
        if (!normal) {
          client.write({
            kind: {
              $case: 'close',
              close: {
                reason: 'the agent serving this session disconnected',
                code: CloseCode.AGENT_DISCONNECTED,
              },
            },
          });
        } else clientFinishedByUs = true;
        client.end();
      }
      settle();
    };
    client.on('end', () => clientGone(true));
    client.on('error', () => clientGone(false));
    client.on('cancelled', () => clientGone(false));
    client.on('close', () => clientGone(false));
    agent.on('end', () => agentGone(true));
    agent.on('error', () => agentGone(false));
    agent.on('cancelled', () => agentGone(false));
    agent.on('close', () => agentGone(false));
    abort = (text, code) => {
      noteReason(text);
      ending = true;
      if (!client.writableEnded) {
        client.write({ kind: { $case: 'close', close: { reason: text, code } } });
        client.end();
      }
      if (agent.writableEnded || agentClosed) return;
      // The agent ends the work at the target (PostgreSQL: cancels the running statement) and
      // reports what it interrupted on this stream, then ends it; one that does not is cut off.
      agent.write({ kind: { $case: 'close', close: { reason: text, code } } });
      const cut = setTimeout(() => {
        if (!agentClosed) agent.emit('error', { code: GrpcStatus.UNAUTHENTICATED, details: text });
      }, AGENT_CLOSE_GRACE_MS);
      cut.unref();
      agent.once('close', () => clearTimeout(cut));
    };
    // A client's cancel: the agent stops the running statement at the target; the session goes on.
    interrupt = (text) => {
      if (ending || agentClosed || agent.writableEnded) return false;
      agent.write({ kind: { $case: 'interrupt', interrupt: { reason: text } } });
      return true;
    };
    client.resume();
    agent.resume();
  });
  return {
    done,
    abort: (reason, code) => abort(reason, code),
    interrupt: (reason) => interrupt(reason),
  };
}

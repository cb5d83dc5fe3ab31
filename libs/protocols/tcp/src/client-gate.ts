import { EventEmitter } from 'node:events';
import { dataFrame, halfCloseFrame, type FrameCodec } from './frame-codec';
import type { FrameStream } from './socket-relay';

/** What a gate says of a session's first client bytes. */
export type GateVerdict =
  /** Not enough to tell: hold them and call again with more (or pass them after `holdMs`). */
  | { readonly verdict: 'more' }
  | { readonly verdict: 'pass' }
  /** Never forwarded: `answer` goes to the client, then the session ends. */
  | { readonly verdict: 'refuse'; readonly reason: string; readonly answer?: Buffer };

/**
 * Reads the client's first bytes (everything it sent so far, at each call) before any of them reach
 * the target. A pure function: no I/O.
 */
export type ClientGate = (bytes: Buffer) => GateVerdict;

/** Longest a gate may hold bytes it cannot decide on before they pass (a slow typist, a short message). */
export const GATE_HOLD_MS = 1_000;

/**
 * The session's tunnel stream with its client-to-target data held until `gate` decides on the first
 * bytes: passed, they go on in order (and every later byte without a look); refused, none reaches
 * the target and the client gets the gate's answer; `onRefused` must then end the target's side
 * (the relay then ends the session). The other direction is untouched, so a protocol whose server
 * speaks first is not held up.
 */
export function gateClientData<In, Out>(
  stream: FrameStream<Out>,
  codec: FrameCodec<In, Out>,
  gate: ClientGate,
  onRefused: (reason: string) => void,
  holdMs = GATE_HOLD_MS,
): FrameStream<Out> {
  const gated = new EventEmitter() as FrameStream<Out>;
  let state: 'gating' | 'passed' | 'refused' = 'gating';
  const held: In[] = [];
  const bytes: Buffer[] = [];
  let timer: NodeJS.Timeout | undefined;
  const release = () => {
    if (state !== 'gating') return;
    state = 'passed';
    if (timer) clearTimeout(timer);
    for (const message of held.splice(0)) gated.emit('data', message);
  };
  const refuse = (reason: string, answer?: Buffer) => {
    state = 'refused';
    if (timer) clearTimeout(timer);
    held.length = 0;
    if (answer) stream.write(codec.wrap(dataFrame(answer)));
    stream.write(codec.wrap(halfCloseFrame()));
    onRefused(reason);
  };
  stream.on('data', (message: In) => {
    if (state === 'passed') {
      gated.emit('data', message);
      return;
    }
    const unwrapped = codec.unwrap(message);
    const frame = unwrapped && 'frame' in unwrapped ? unwrapped.frame : undefined;
    if (state === 'refused') {
      // Nothing more of the client's reaches the target; how the stream ends still counts.
      if (frame?.kind?.$case !== 'data') gated.emit('data', message);
      return;
    }
    if (frame?.kind?.$case !== 'data') {
      // The client finished or failed before the gate could tell: what it sent goes on, then this.
      held.push(message);
      release();
      return;
    }
    held.push(message);
    bytes.push(frame.kind.data);
    const said = gate(Buffer.concat(bytes));
    if (said.verdict === 'pass') release();
    else if (said.verdict === 'refuse') refuse(said.reason, said.answer);
    else timer ??= setTimeout(release, holdMs);
  });
  for (const event of ['end', 'error', 'drain', 'close']) {
    stream.on(event, (...args: unknown[]) => {
      if (event === 'end' || event === 'error') release();
      gated.emit(event, ...args);
    });
  }
  Object.defineProperties(gated, {
    writableEnded: { get: () => stream.writableEnded },
    destroyed: { get: () => stream.destroyed },
  });
  return Object.assign(gated, {
    write: (message: Out) => stream.write(message),
    end: () => stream.end(),
    pause: () => stream.pause(),
    resume: () => stream.resume(),
  });
}

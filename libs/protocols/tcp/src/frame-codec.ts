import type { CloseCode, StreamFrame } from '@tollgate/proto';

/**
 * How a tunnel stream's messages carry StreamFrames. Every tunnel stream (ClientTunnel.Open,
 * AgentTunnel.Session, both directions) wraps the same StreamFrame in its own envelope; the codec
 * lets one relay serve all of them.
 */
export interface FrameCodec<In, Out> {
  wrap(frame: StreamFrame): Out;
  /**
   * A data frame for one socket read (see connectWithFrameReads): `data` is handed over (the relay
   * never touches it again) and its buffer has DATA_ENVELOPE_HEADROOM bytes free in front of it, so
   * an encoding codec can write the frame's header there instead of copying the bytes. Without it
   * the relay calls `wrap`.
   */
  wrapRead?(data: Buffer): Out;
  /**
   * What an incoming message carries: a frame, the reason the peer is closing the session (shown to
   * the user if the stream then ends early) with its code, or nothing the relay cares about.
   */
  unwrap(message: In): { frame: StreamFrame } | { closeReason: string; closeCode?: CloseCode } | undefined;
}

/** Largest data frame a relay sends; keeps HTTP/2 flow control fine-grained (see frame.proto). */
export const MAX_FRAME_DATA_BYTES = 64 * 1024;

export const dataFrame = (data: Buffer): StreamFrame => ({ kind: { $case: 'data', data } });
export const halfCloseFrame = (): StreamFrame => ({ kind: { $case: 'halfClose', halfClose: {} } });
export const resetFrame = (message: string): StreamFrame => ({
  kind: { $case: 'reset', reset: { message } },
});

import type { ClientChannel, ServerChannel } from 'ssh2';
import { signalChannel } from './channel-signal';

/** How the far side's command ended: an exit status, or the signal that ended it. */
export type ChannelExit =
  | { readonly code: number }
  | { readonly signal: string; readonly coreDumped: boolean; readonly description: string };

export interface ChannelPairHooks {
  /**
   * Client input on its way to the target (default: written as is). Returns true to hold the
   * client's input (no more of it, nor its EOF, is read) until it calls `release`.
   */
  readonly input?: (
    chunk: Buffer,
    write: (bytes: Buffer) => void,
    release: () => void,
    /** Answers the client directly (a refused request), in order with the target's replies. */
    reply: (bytes: Buffer) => void,
  ) => boolean;
  /** The client's EOF: passed on to the target once this settles (input a gate still holds). */
  readonly inputEnd?: (write: (bytes: Buffer) => void) => Promise<void>;
  /**
   * Target output (stdout) on its way to the client: returns what the client is sent instead (bytes
   * may be held back or left out: the SFTP audit's own questions to the server).
   */
  readonly outputFilter?: (chunk: Buffer) => Buffer;
  /**
   * Target output (stdout) held until this settles (no more of it is read meanwhile): `send` passes
   * bytes on to the client, `toTarget` answers the target (a refused transfer). A rejection ends the
   * channel. Used instead of outputFilter.
   */
  readonly outputGate?: (
    chunk: Buffer,
    send: (bytes: Buffer) => void,
    toTarget: (bytes: Buffer) => void,
  ) => Promise<void> | undefined;
  /** Target output (stdout) after it was written to the client. */
  readonly output?: (chunk: Buffer) => void;
  /** Target error output (stderr) after it was written to the client. */
  readonly errorOutput?: (chunk: Buffer) => void;
  /** The client's terminal changed size (a window-change request), after it was passed on. */
  readonly resize?: (columns: number, rows: number) => void;
  /** Called once when both channels are closed, with how the target's command ended (if it said). */
  readonly closed?: (exit: ChannelExit | undefined) => void;
}

/**
 * Joins a channel the client opened (server side) with the one opened at the target (client side):
 * stdin, stdout and stderr both ways with backpressure, the client's EOF passed on, and the
 * target's exit status or signal delivered before the client's channel closes (ssh2 closes a server
 * channel on end(), after which no exit status can be sent).
 */
export function joinChannels(
  client: ServerChannel,
  target: ClientChannel,
  hooks: ChannelPairHooks = {},
): void {
  let exit: ChannelExit | undefined;
  let closed = false;

  // Input pauses while the target's window is full, and while the input hook holds it.
  let full = false;
  let held = false;
  const resume = () => {
    if (!full && !held) client.resume();
  };
  const write = (bytes: Buffer) => {
    if (!target.write(bytes)) full = true;
  };
  target.on('drain', () => {
    full = false;
    resume();
  });
  // The client's EOF waits for held input (a stream reports its end even while paused).
  let ended = false;
  const endTarget = () => {
    if (ended && !held) target.end();
  };
  const release = () => {
    held = false;
    endTarget();
    resume();
  };
  const reply = (bytes: Buffer) => void client.write(bytes);
  // A hook that cannot read the stream (a malformed packet) ends the channel: fail closed.
  const broken = () => {
    client.close();
    target.close();
  };
  client.on('data', (chunk: Buffer) => {
    try {
      if (hooks.input) held = hooks.input(chunk, write, release, reply) || held;
      else write(chunk);
    } catch {
      return broken();
    }
    if (full || held) client.pause();
  });
  client.on('end', () => {
    if (!hooks.inputEnd) {
      ended = true;
      return endTarget();
    }
    held = true;
    hooks.inputEnd(write).then(
      () => {
        ended = true;
        release();
      },
      () => broken(),
    );
  });

  const guarded = (observe: ((chunk: Buffer) => void) | undefined) =>
    observe &&
    ((chunk: Buffer) => {
      try {
        observe(chunk);
      } catch {
        broken();
      }
    });
  const filter = hooks.outputFilter;
  const filtered =
    filter &&
    ((chunk: Buffer) => {
      try {
        return filter(chunk);
      } catch {
        broken();
        return Buffer.alloc(0);
      }
    });
  const outputGate = hooks.outputGate;
  const gated =
    outputGate &&
    ((chunk: Buffer, send: (bytes: Buffer) => void) => {
      try {
        return outputGate(chunk, send, write)?.catch(() => broken());
      } catch {
        broken();
        return undefined;
      }
    });
  const stdoutDone = pipeTo(target, client, guarded(hooks.output), filtered, gated);
  const stderrDone = pipeTo(target.stderr, client.stderr, guarded(hooks.errorOutput));

  target.on('exit', (code: number | null, signal?: string, dump?: boolean | string, desc?: string) => {
    exit =
      typeof code === 'number'
        ? { code }
        : // ssh2 reports `SIGTERM`; the protocol (and the client's exit-signal) says `TERM`.
          {
            signal: (signal ?? 'KILL').replace(/^SIG/, ''),
            coreDumped: dump === true,
            description: desc ?? '',
          };
  });

  const finish = () => {
    if (closed) return;
    closed = true;
    if (exit && 'code' in exit) client.exit(exit.code);
    else if (exit) client.exit(exit.signal, exit.coreDumped, exit.description);
    client.end();
    hooks.closed?.(exit);
  };
  // The target closes after its exit status; what it sent before must reach the client first.
  target.on('close', () => void Promise.all([stdoutDone, stderrDone]).then(finish));
  client.on('close', () => {
    // The client went away before the command ended: end it too (sshd leaves a command without a
    // PTY running when its channel closes).
    if (!closed) signalChannel(target, 'TERM');
    target.close();
    if (!closed) {
      closed = true;
      hooks.closed?.(exit);
    }
  });
}

/**
 * Copies a readable into a channel with backpressure; resolves when the readable has ended (and the
 * gate has let through what it held).
 */
function pipeTo(
  from: NodeJS.ReadableStream & { readableEnded?: boolean },
  to: NodeJS.WritableStream,
  observe?: (chunk: Buffer) => void,
  filter?: (chunk: Buffer) => Buffer,
  gate?: (chunk: Buffer, send: (bytes: Buffer) => void) => Promise<void> | undefined,
): Promise<void> {
  return new Promise((resolve) => {
    if (from.readableEnded) return resolve();
    let full = false;
    let gating: Promise<void> = Promise.resolve();
    const send = (chunk: Buffer) => {
      if (chunk.length === 0) return;
      if (!to.write(chunk)) {
        full = true;
        from.pause();
        to.once('drain', () => {
          full = false;
          from.resume();
        });
      }
      observe?.(chunk);
    };
    from.on('data', (received: Buffer) => {
      if (!gate) return send(filter ? filter(received) : received);
      // Handled at once unless a record waits for its decision: then no more is read until it is.
      const waiting = gate(received, send);
      if (!waiting) return;
      from.pause();
      gating = waiting.then(() => {
        if (!full) from.resume();
      });
    });
    const ended = () => void gating.then(resolve, resolve);
    from.on('end', ended);
    from.on('close', ended);
  });
}

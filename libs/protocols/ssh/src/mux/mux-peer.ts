import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { ClientChannel, ExecOptions, PseudoTtyOptions, ServerChannel, ShellOptions } from 'ssh2';
import { MuxChannel, type ChannelLink } from './mux-channel';
import {
  FrameReader,
  FrameType,
  frameHeader,
  MUX_HELLO,
  MuxFrameError,
  type Frame,
  type GlobalReply,
  type OpenSpec,
  type PtySpec,
  type RefusedForwarding,
} from './mux-frames';

type ChannelCallback = (error: Error | undefined, channel: ClientChannel) => void;

/**
 * One end of the multiplexer on a session's byte stream: frames in and out, the channels by number,
 * flow control against the stream's own backpressure. The end that opens channels for the user's
 * client (MuxClient) numbers its channels even, the agent's end (MuxConnection) odd; numbers are
 * not reused within a session.
 */
abstract class MuxPeer extends EventEmitter implements ChannelLink {
  protected readonly channels = new Map<number, MuxChannel>();
  private readonly reader = new FrameReader();
  private nextId: number;
  private gone = false;
  private helloSeen = false;
  /** Channel opens sent and not yet answered. */
  private readonly opening = new Map<number, { channel: MuxChannel; callback: ChannelCallback }>();

  constructor(
    protected readonly stream: Duplex,
    firstId: number,
  ) {
    super();
    this.nextId = firstId;
    stream.on('data', (chunk: Buffer) => this.read(chunk));
    stream.on('drain', () => this.flushAll());
    stream.on('end', () => this.teardown());
    stream.on('close', () => this.teardown());
    stream.on('error', () => this.teardown());
  }

  get writable(): boolean {
    return !this.gone && !this.stream.writableNeedDrain;
  }

  send(type: FrameType, channel: number, payload?: Buffer): boolean {
    if (this.gone || this.stream.destroyed || this.stream.writableEnded) return false;
    const header = frameHeader(type, channel, payload?.length ?? 0);
    if (!payload || payload.length === 0) return this.stream.write(header);
    // Header and bytes in one write of the stream (its writev copies them into one frame).
    this.stream.cork();
    this.stream.write(header);
    this.stream.write(payload);
    this.stream.uncork();
    return !this.stream.writableNeedDrain;
  }

  forget(channel: MuxChannel): void {
    this.channels.delete(channel.id);
  }

  /** Ends the session stream; every channel is closed. */
  end(): void {
    this.teardown(true);
  }

  destroy(): void {
    this.teardown();
  }

  protected abstract hello(frame: Frame): void;
  protected abstract open(channel: number, open: OpenSpec): void;
  protected abstract global(frame: Frame & { type: FrameType.Global | FrameType.GlobalReply }): void;

  protected sendHello(): void {
    this.send(FrameType.Hello, 0, Buffer.from(MUX_HELLO, 'utf8'));
  }

  /** Opens a channel; `callback` gets it once the other side accepted it. */
  protected openChannel(open: OpenSpec, callback: ChannelCallback): void {
    if (this.gone) {
      callback(new Error('the session has ended'), undefined as unknown as ClientChannel);
      return;
    }
    const id = this.nextId;
    this.nextId += 2;
    if (this.nextId > 0xffffffff) {
      callback(
        new Error('this session opened all the channels it may'),
        undefined as unknown as ClientChannel,
      );
      return;
    }
    const channel = new MuxChannel(this, id, 'client');
    this.opening.set(id, { channel, callback });
    this.send(FrameType.Open, id, Buffer.from(JSON.stringify(open), 'utf8'));
  }

  /** A channel the other side opened, accepted here. */
  protected acceptChannel(id: number, role: 'client' | 'server', session?: EventEmitter): MuxChannel {
    const channel = new MuxChannel(this, id, role, session);
    this.channels.set(id, channel);
    this.send(FrameType.OpenOk, id);
    return channel;
  }

  protected refuseChannel(id: number, message: string): void {
    this.send(FrameType.OpenFail, id, Buffer.from(message, 'utf8'));
  }

  /** A frame that breaks the protocol: the session ends (fail closed). */
  protected fail(error: Error): void {
    this.emit('protocol-error', error);
    this.teardown();
  }

  private read(chunk: Buffer): void {
    if (this.gone) return;
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (error) {
      return this.fail(error as Error);
    }
    for (const frame of frames) {
      if (this.gone) return;
      try {
        this.dispatch(frame);
      } catch (error) {
        return this.fail(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  private dispatch(frame: Frame): void {
    if (!this.helloSeen) {
      if (frame.type !== FrameType.Hello || frame.version !== MUX_HELLO) {
        throw new MuxFrameError(
          frame.type === FrameType.Hello
            ? `the other side speaks ${frame.version}, this one ${MUX_HELLO}: upgrade the gateway, agent and tollgate CLI together`
            : 'bad frame: the session did not start with a hello',
        );
      }
      this.helloSeen = true;
      return this.hello(frame);
    }
    switch (frame.type) {
      case FrameType.Hello:
        throw new MuxFrameError('bad frame: a second hello');
      case FrameType.Open:
        if (this.channels.has(frame.channel) || frame.channel % 2 === this.nextId % 2)
          throw new MuxFrameError(`bad frame: channel ${frame.channel} cannot be opened by the other side`);
        return this.open(frame.channel, frame.open);
      case FrameType.OpenOk:
      case FrameType.OpenFail: {
        const opening = this.opening.get(frame.channel);
        if (!opening)
          throw new MuxFrameError(`bad frame: an answer for channel ${frame.channel}, which was not opened`);
        this.opening.delete(frame.channel);
        if (frame.type === FrameType.OpenFail)
          return opening.callback(new Error(frame.message), undefined as unknown as ClientChannel);
        this.channels.set(frame.channel, opening.channel);
        return opening.callback(undefined, opening.channel as unknown as ClientChannel);
      }
      case FrameType.Global:
      case FrameType.GlobalReply:
        return this.global(frame);
      default: {
        // Frames for a channel closed a moment ago (they crossed its close) are dropped.
        const channel = this.channels.get(frame.channel);
        if (!channel) return;
        switch (frame.type) {
          case FrameType.Data:
          case FrameType.Stderr:
            if (!channel.receive(frame.data, frame.type === FrameType.Stderr))
              throw new MuxFrameError(`bad frame: channel ${frame.channel} sent more than its window`);
            return;
          case FrameType.Window:
            return channel.granted(frame.bytes);
          case FrameType.Request:
            return channel.remoteRequest(frame.request);
          case FrameType.Eof:
            return channel.remoteEof();
          case FrameType.Close:
            return channel.remoteClose();
        }
      }
    }
  }

  private flushAll(): void {
    for (const channel of this.channels.values()) {
      if (!this.writable) return;
      if (channel.pending) channel.flush();
    }
  }

  private teardown(graceful = false): void {
    if (this.gone) return;
    this.gone = true;
    for (const { callback } of this.opening.values())
      callback(new Error('the session has ended'), undefined as unknown as ClientChannel);
    this.opening.clear();
    for (const channel of [...this.channels.values()]) channel.lost();
    this.channels.clear();
    this.ended();
    if (graceful && !this.stream.destroyed) {
      this.stream.end();
      // The other side ends its half in turn; a stream that does not is ended here.
      setTimeout(() => this.stream.destroy(), 5_000).unref();
    } else {
      this.stream.destroy();
    }
    this.emit('close');
  }

  /** Called once when the session stream is gone (pending requests are answered there). */
  protected abstract ended(): void;
}

/** A TCP connection the agent's target forwarded back (remote port forwarding). */
export interface ForwardedConnection {
  readonly destIP: string;
  readonly destPort: number;
  readonly srcIP: string;
  readonly srcPort: number;
}

/**
 * The user's side (gateway listener, `tollgate connect`, `tollgate exec`): opens channels for what
 * the user's SSH client asks, shaped as ssh2's Client so the session bridge drives it as it would a
 * real SSH connection. Emits `tcp connection` for connections the target forwards back, `close`
 * when the session ends.
 */
export class MuxClient extends MuxPeer {
  private nextRequest = 0;
  private readonly requests = new Map<number, (reply: GlobalReply | undefined) => void>();
  private ready: ((error?: Error) => void) | undefined;

  constructor(stream: Duplex) {
    super(stream, 2);
  }

  /** Says hello and resolves once the agent's engine answered (its target connection is up). */
  start(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.ready = undefined;
        this.destroy();
        reject(new Error(`the agent did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      let protocolError: Error | undefined;
      const onError = (error: Error) => (protocolError = error);
      this.once('protocol-error', onError);
      this.ready = (error) => {
        clearTimeout(timer);
        this.ready = undefined;
        this.off('protocol-error', onError);
        if (error) reject(protocolError ?? error);
        else resolve();
      };
      this.sendHello();
    });
  }

  shell(window: PseudoTtyOptions | false, options: ShellOptions, callback: ChannelCallback): this {
    this.openChannel(
      { kind: 'session', request: { type: 'shell' }, ...ptyOf(window), env: envOf(options.env) },
      callback,
    );
    return this;
  }

  exec(
    command: string,
    optionsOrCallback: ExecOptions | ChannelCallback,
    maybeCallback?: ChannelCallback,
  ): this {
    const options = typeof optionsOrCallback === 'function' ? {} : optionsOrCallback;
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback!;
    this.openChannel(
      {
        kind: 'session',
        request: { type: 'exec', command },
        ...ptyOf(typeof options.pty === 'object' ? options.pty : options.pty ? {} : false),
        env: envOf(options.env),
      },
      callback,
    );
    return this;
  }

  subsys(name: string, callback: ChannelCallback): this {
    this.openChannel({ kind: 'session', request: { type: 'subsystem', name }, env: {} }, callback);
    return this;
  }

  forwardOut(
    srcIP: string,
    srcPort: number,
    destIP: string,
    destPort: number,
    callback: ChannelCallback,
  ): this {
    this.openChannel({ kind: 'direct-tcpip', srcIP, srcPort, destIP, destPort }, callback);
    return this;
  }

  forwardIn(host: string, port: number, callback: (error: Error | undefined, port: number) => void): this {
    const id = this.nextRequest++;
    this.requests.set(id, (reply) =>
      reply?.ok
        ? callback(undefined, reply.port)
        : callback(new Error('the remote forwarding was refused'), 0),
    );
    this.send(
      FrameType.Global,
      id,
      Buffer.from(JSON.stringify({ type: 'tcpip-forward', host, port }), 'utf8'),
    );
    return this;
  }

  /** Tells the agent's engine of forwarding refused here, and resolves once it has recorded it. */
  reportRefused(forwarding: RefusedForwarding): Promise<void> {
    return new Promise<void>((resolve) => {
      const id = this.nextRequest++;
      this.requests.set(id, () => resolve());
      this.send(
        FrameType.Global,
        id,
        Buffer.from(JSON.stringify({ type: 'refused-forwarding', forwarding }), 'utf8'),
      );
    });
  }

  setNoDelay(): this {
    return this;
  }

  protected hello(): void {
    this.ready?.();
  }

  protected open(id: number, open: OpenSpec): void {
    if (open.kind !== 'forwarded-tcpip') {
      this.refuseChannel(id, `a ${open.kind} channel is not opened towards the user`);
      return;
    }
    const info: ForwardedConnection = {
      destIP: open.destIP,
      destPort: open.destPort,
      srcIP: open.srcIP,
      srcPort: open.srcPort,
    };
    let answered = false;
    const accept = () => {
      answered = true;
      return this.acceptChannel(id, 'client') as unknown as ClientChannel;
    };
    const reject = () => {
      if (answered) return;
      answered = true;
      this.refuseChannel(id, 'refused');
    };
    if (this.listenerCount('tcp connection') === 0) return reject();
    this.emit('tcp connection', info, accept, reject);
  }

  protected global(frame: Frame & { type: FrameType.Global | FrameType.GlobalReply }): void {
    if (frame.type === FrameType.Global) {
      this.send(FrameType.GlobalReply, frame.channel, Buffer.from(JSON.stringify({ ok: false }), 'utf8'));
      return;
    }
    const answer = this.requests.get(frame.channel);
    if (!answer)
      throw new MuxFrameError(`bad frame: a reply to request ${frame.channel}, which was not made`);
    this.requests.delete(frame.channel);
    answer(frame.reply);
  }

  protected ended(): void {
    this.ready?.(new Error('the session ended before SSH started'));
    for (const answer of this.requests.values()) answer(undefined);
    this.requests.clear();
  }
}

function ptyOf(window: PseudoTtyOptions | false): { pty?: PtySpec } {
  if (!window) return {};
  return {
    pty: {
      term: window.term ?? 'vt100',
      cols: window.cols ?? 80,
      rows: window.rows ?? 24,
      width: window.width ?? 640,
      height: window.height ?? 480,
      modes: (window.modes ?? {}) as Record<string, number>,
    },
  };
}

function envOf(env: NodeJS.ProcessEnv | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(env ?? {})) if (value !== undefined) values[name] = value;
  return values;
}

const noReply = (): void => undefined;

/**
 * The agent's side: the channels the user's side opens, shaped as ssh2's server-side Connection and
 * Session so the session bridge serves them (with the policy governor) as it would an SSH client.
 * Emits `ready` after the hello, then `session`, `tcpip` and `request` as ssh2 does; `close` when
 * the session stream is gone.
 */
export class MuxConnection extends MuxPeer {
  constructor(stream: Duplex) {
    super(stream, 1);
  }

  /** Opens a channel to the user's side for a connection the target forwarded back. */
  forwardOut(
    boundAddr: string,
    boundPort: number,
    remoteAddr: string,
    remotePort: number,
    callback: (error: Error | undefined, channel: ServerChannel) => void,
  ): this {
    this.openChannel(
      {
        kind: 'forwarded-tcpip',
        destIP: boundAddr,
        destPort: boundPort,
        srcIP: remoteAddr,
        srcPort: remotePort,
      },
      callback as unknown as ChannelCallback,
    );
    return this;
  }

  protected hello(): void {
    this.sendHello();
    this.emit('ready');
  }

  protected open(id: number, open: OpenSpec): void {
    let answered = false;
    const refuse = (message: string) => {
      if (answered) return;
      answered = true;
      this.refuseChannel(id, message);
    };
    if (open.kind !== 'session') {
      if (open.kind === 'forwarded-tcpip')
        return refuse('a forwarded-tcpip channel is not opened towards the agent');
      const accept = () => {
        answered = true;
        return this.acceptChannel(id, 'server') as unknown as ServerChannel;
      };
      if (this.listenerCount('tcpip') === 0) return refuse('refused');
      this.emit('tcpip', accept, () => refuse('refused'), {
        srcIP: open.srcIP,
        srcPort: open.srcPort,
        destIP: open.destIP,
        destPort: open.destPort,
      });
      return;
    }
    // A session channel: its pty and env requests, then what it runs, as ssh2 emits them.
    const session = new EventEmitter();
    let accepted = false;
    this.emit(
      'session',
      () => {
        accepted = true;
        return session;
      },
      () => refuse('too many channels'),
    );
    if (!accepted) return refuse('refused');
    if (open.pty) session.emit('pty', noReply, noReply, { ...open.pty });
    for (const [key, val] of Object.entries(open.env)) session.emit('env', noReply, noReply, { key, val });
    const accept = () => {
      answered = true;
      return this.acceptChannel(id, 'server', session) as unknown as ServerChannel;
    };
    const reject = () => {
      refuse('the request was refused');
      session.emit('close');
    };
    const request = open.request;
    if (request.type === 'shell') session.emit('shell', accept, reject);
    else if (request.type === 'exec') session.emit('exec', accept, reject, { command: request.command });
    else session.emit('subsystem', accept, reject, { name: request.name });
    if (!answered) reject();
  }

  protected global(frame: Frame & { type: FrameType.Global | FrameType.GlobalReply }): void {
    if (frame.type === FrameType.GlobalReply) {
      throw new MuxFrameError('bad frame: a global reply to the agent, which makes no global requests');
    }
    const id = frame.channel;
    let answered = false;
    const reply = (value: GlobalReply) => {
      if (answered) return;
      answered = true;
      this.send(FrameType.GlobalReply, id, Buffer.from(JSON.stringify(value), 'utf8'));
    };
    const request = frame.request;
    const reject = () => reply({ ok: false });
    if (this.listenerCount('request') === 0) return reject();
    if (request.type === 'refused-forwarding') {
      // As ssh2 would emit the client's own request: the engine's governor audits it and refuses.
      const forwarding = request.forwarding;
      if (forwarding.kind === 'streamlocal') {
        this.emit('request', undefined, reject, 'streamlocal-forward@openssh.com', {
          socketPath: forwarding.path,
        });
      } else {
        this.emit('request', undefined, reject, forwarding.kind, {});
      }
      return;
    }
    const accept = (port?: number) => reply({ ok: true, port: port ?? request.port });
    this.emit('request', accept, reject, request.type, { bindAddr: request.host, bindPort: request.port });
  }

  protected ended(): void {
    // Nothing waits on the agent's side: channels were closed by the teardown.
  }
}

import type {
  AcceptConnection,
  ClientChannel,
  Connection,
  ExecOptions,
  ShellOptions,
  TcpConnectionDetails,
  PseudoTtyInfo,
  PseudoTtyOptions,
  RejectConnection,
  ServerChannel,
  Session,
} from 'ssh2';
import { joinChannels, type ChannelPairHooks } from './channel-pair';
import { signalChannel } from './channel-signal';
import { canonicalForwardHost } from './forward-host';

/** What a client asked a session channel to run. */
export type SessionRequest =
  | { readonly kind: 'shell'; readonly pty: boolean }
  | { readonly kind: 'exec'; readonly command: string; readonly pty: boolean }
  | { readonly kind: 'subsystem'; readonly name: string };

/** Requests that open a path other than a session's own streams. */
export type ForwardingRequest =
  | { readonly kind: 'direct-tcpip'; readonly host: string; readonly port: number }
  | { readonly kind: 'tcpip-forward'; readonly host: string; readonly port: number }
  | { readonly kind: 'streamlocal'; readonly path: string }
  | { readonly kind: 'x11' }
  | { readonly kind: 'auth-agent' };

export type Verdict = { readonly allow: true } | { readonly allow: false; readonly message: string };

/**
 * What one side of Tollgate decides about a client's SSH connection. The agent's engine answers from
 * policy and records everything; the local front end (tollgate connect) passes everything on, so
 * that the agent decides.
 */
export interface SessionGovernor {
  /** Environment variables a session may pass to the target; others are refused. */
  acceptsEnv(name: string): boolean;
  /** A shell, exec or subsystem request; `notify` reaches the client's stderr while it waits. */
  decide(request: SessionRequest, notify: (message: string) => void): Promise<Verdict>;
  /** Forwarding of any kind: relayed to the target only when this says so. */
  forwarding(request: ForwardingRequest): Promise<Verdict>;
  /**
   * Hooks on the joined channel (input gate, recording), per request. `end` ends the channel with
   * a message on its stderr (a recording the gateway could not store).
   */
  channelHooks?(
    request: SessionRequest,
    pty: PseudoTtyInfo | undefined,
    stderr: (text: string) => void,
    end: (message: string) => void,
  ): ChannelPairHooks;
}

/**
 * Serves one client connection (an ssh2 server-side Connection, after authentication) against one
 * target connection (an ssh2 Client, ready): each session channel's requests are collected (pty,
 * env, window changes, signals) and replayed on a target channel once the client says what to run,
 * after the governor allowed it. Refusals reach an SSH client the way OpenSSH reports them: a
 * failed request, or a message on stderr with exit status 1.
 */
export function bridgeConnection(
  client: Connection,
  target: BridgeTarget,
  governor: SessionGovernor,
): Bridge {
  const running = new Set<ClientChannel>();
  // A client that opens channels without end is refused more than MAX_CHANNELS at once (each may hold
  // a channel at the target, whose sshd allows 10 by default anyway); other connections are untouched.
  let open = 0;
  client.on('session', (accept: AcceptConnection<Session>, reject: RejectConnection) => {
    if (open >= MAX_CHANNELS) return reject();
    open++;
    const session = accept();
    session.once('close', () => open--);
    bridgeSession(session, target, governor, running);
  });

  client.on('tcpip', (accept: AcceptConnection<ServerChannel>, reject: RejectConnection, info) => {
    // The target is asked for the address that was decided, in the one spelling policy reads.
    const host = canonicalForwardHost(info.destIP);
    void governor.forwarding({ kind: 'direct-tcpip', host, port: info.destPort }).then((verdict) => {
      if (!verdict.allow) return reject();
      atTarget(
        () =>
          target.forwardOut(info.srcIP, info.srcPort, host, info.destPort, (error, channel) => {
            if (error) return reject();
            const local = accept();
            local.pipe(channel).pipe(local);
          }),
        reject,
      );
    });
  });
  // Connections the target forwards back (after a tcpip-forward it accepted) go to the client.
  target.on('tcp connection', (info, accept) => {
    client.forwardOut(info.destIP, info.destPort, info.srcIP, info.srcPort, (error, local) => {
      if (error) return;
      const remote = accept();
      remote.pipe(local).pipe(remote);
    });
  });
  client.on(
    'openssh.streamlocal',
    (_accept: unknown, reject: RejectConnection, info: { socketPath: string }) => {
      void governor.forwarding({ kind: 'streamlocal', path: info.socketPath }).then(() => reject());
    },
  );
  client.on('request', (_accept: unknown, reject: (() => void) | undefined, name: string, info: unknown) => {
    const bind = (info ?? {}) as { bindAddr?: string; bindPort?: number; socketPath?: string };
    if (name === 'tcpip-forward') {
      const host = canonicalForwardHost(bind.bindAddr ?? '');
      const port = bind.bindPort ?? 0;
      void governor.forwarding({ kind: 'tcpip-forward', host, port }).then((verdict) => {
        if (!verdict.allow) return reject?.();
        atTarget(
          () =>
            target.forwardIn(host, port, (error, bound) => {
              if (error) return reject?.();
              (_accept as ((port?: number) => void) | undefined)?.(bound);
            }),
          () => reject?.(),
        );
      });
    } else if (name === 'streamlocal-forward@openssh.com') {
      void governor.forwarding({ kind: 'streamlocal', path: bind.socketPath ?? '' }).then(() => reject?.());
    } else if (name === 'x11' || name === 'auth-agent') {
      // Only Tollgate's own front sends these (see RefusedForwarding): refused, after the governor
      // has recorded the attempt.
      void governor.forwarding({ kind: name }).then(() => reject?.());
    } else {
      reject?.();
    }
  });
  return {
    hangUp: () => {
      for (const channel of running) {
        signalChannel(channel, 'TERM');
        channel.close();
      }
    },
  };
}

/**
 * What the bridge drives on the target side: an ssh2 Client (the agent's connection to the target)
 * or the multiplexer to the agent's engine (MuxClient), which has the same shape.
 */
export interface BridgeTarget {
  shell(window: PseudoTtyOptions | false, options: ShellOptions, callback: ChannelCallback): unknown;
  exec(command: string, options: ExecOptions, callback: ChannelCallback): unknown;
  subsys(name: string, callback: ChannelCallback): unknown;
  forwardOut(
    srcIP: string,
    srcPort: number,
    destIP: string,
    destPort: number,
    callback: ChannelCallback,
  ): unknown;
  forwardIn(host: string, port: number, callback: (error: Error | undefined, port: number) => void): unknown;
  on(
    event: 'tcp connection',
    listener: (
      details: TcpConnectionDetails,
      accept: AcceptConnection<ClientChannel>,
      reject: RejectConnection,
    ) => void,
  ): unknown;
}

type ChannelCallback = (error: Error | undefined, channel: ClientChannel) => void;

/** Session channels one client connection may have open at once. */
export const MAX_CHANNELS = 64;

/** A bridged connection. */
export interface Bridge {
  /**
   * Ends what runs at the target: each running command is sent SIGTERM and its channel closed
   * (without a PTY, sshd would otherwise leave it running after the connection ends).
   */
  hangUp(): void;
}

type MaybeAccept = (() => void) | undefined;

function bridgeSession(
  session: Session,
  target: BridgeTarget,
  governor: SessionGovernor,
  runningChannels: Set<ClientChannel>,
): void {
  let pty: PseudoTtyInfo | undefined;
  const env: Record<string, string> = {};
  let running: ClientChannel | undefined;
  let hooks: ChannelPairHooks = {};
  let started = false;

  session.on('pty', (accept: MaybeAccept, reject: MaybeAccept, info: PseudoTtyInfo) => {
    if (started) return reject?.();
    pty = info;
    accept?.();
  });
  session.on('env', (accept: MaybeAccept, reject: MaybeAccept, info: { key: string; val: string }) => {
    if (started || !governor.acceptsEnv(info.key)) return reject?.();
    env[info.key] = info.val;
    accept?.();
  });
  session.on('window-change', (accept: MaybeAccept, _reject: MaybeAccept, info: PseudoTtyInfo) => {
    if (pty) pty = { ...pty, cols: info.cols, rows: info.rows, width: info.width, height: info.height };
    running?.setWindow(info.rows, info.cols, info.height, info.width);
    hooks.resize?.(info.cols, info.rows);
    accept?.();
  });
  session.on('signal', (accept: MaybeAccept, _reject: MaybeAccept, info: { name: string }) => {
    running?.signal(info.name);
    accept?.();
  });
  for (const kind of ['x11', 'auth-agent'] as const) {
    session.on(kind, (_accept: MaybeAccept, reject: MaybeAccept) => {
      void governor.forwarding({ kind }).then(() => reject?.());
    });
  }

  const start = (
    request: SessionRequest,
    accept: AcceptConnection<ServerChannel>,
    reject: RejectConnection,
  ) => {
    if (started) return reject();
    started = true;
    // Accepted at once, so a refusal (or a wait for approval) can be told on the channel's stderr.
    const channel = accept();
    // The client may have gone while the governor decided (an approval that came late): its channel
    // is closed then, and a write to its ended stderr would be an unhandled stream error.
    const stderr = (text: string) => {
      if (channel.stderr.writable) channel.stderr.write(`${text}\r\n`);
    };
    const refuse = (message: string) => {
      stderr(message);
      channel.exit(1);
      channel.end();
    };
    governor.decide(request, stderr).then(
      (verdict) => {
        if (!verdict.allow) return refuse(verdict.message);
        openAtTarget(target, request, pty, env, (error, remote) => {
          if (error || !remote)
            return refuse(`the target refused the ${request.kind}: ${error?.message ?? 'no channel'}`);
          running = remote;
          runningChannels.add(remote);
          remote.once('close', () => runningChannels.delete(remote));
          const end = (message: string) => {
            stderr(message);
            signalChannel(remote, 'TERM');
            remote.close();
          };
          hooks = governor.channelHooks?.(request, pty, stderr, end) ?? {};
          joinChannels(channel, remote, hooks);
        });
      },
      (error: unknown) => refuse(`tollgate: ${error instanceof Error ? error.message : String(error)}`),
    );
  };

  session.on('shell', (accept: AcceptConnection<ServerChannel>, reject: RejectConnection) =>
    start({ kind: 'shell', pty: pty !== undefined }, accept, reject),
  );
  session.on(
    'exec',
    (accept: AcceptConnection<ServerChannel>, reject: RejectConnection, info: { command: string }) =>
      start({ kind: 'exec', command: info.command, pty: pty !== undefined }, accept, reject),
  );
  session.on(
    'subsystem',
    (accept: AcceptConnection<ServerChannel>, reject: RejectConnection, info: { name: string }) =>
      start({ kind: 'subsystem', name: info.name }, accept, reject),
  );
}

function openAtTarget(
  target: BridgeTarget,
  request: SessionRequest,
  pty: PseudoTtyInfo | undefined,
  env: Record<string, string>,
  callback: (error: Error | undefined, channel: ClientChannel | undefined) => void,
): void {
  const window: PseudoTtyOptions | false = pty
    ? {
        rows: pty.rows,
        cols: pty.cols,
        height: pty.height,
        width: pty.width,
        term: pty.term,
        modes: outputModes(pty.modes),
      }
    : false;
  const done = (error: Error | undefined, channel: ClientChannel) => callback(error, channel);
  atTarget(
    () => {
      switch (request.kind) {
        case 'shell':
          target.shell(window, { env }, done);
          return;
        case 'exec':
          target.exec(request.command, { env, ...(window ? { pty: window } : {}) }, done);
          return;
        case 'subsystem':
          target.subsys(request.name, done);
          return;
      }
    },
    (error) => callback(error, undefined),
  );
}

/**
 * Terminal modes that only change how output is shown, echoed or paced. The rest are dropped (the
 * target's defaults apply): special characters (erase, kill, werase, eol, lnext...), canonical
 * mode, and input translations (ISTRIP, IUCLC, ICRNL...) would make the line the shell reads differ
 * from the keys the input gate decided (`VERASE=x` turns `tXtouch` into `touch`).
 */
const OUTPUT_MODES = new Set([
  'ECHO',
  'ECHOE',
  'ECHOK',
  'ECHONL',
  'ECHOCTL',
  'ECHOKE',
  'OPOST',
  'ONLCR',
  'OCRNL',
  'ONOCR',
  'ONLRET',
  'CS7',
  'CS8',
  'PARENB',
  'PARODD',
  'IXON',
  'IXOFF',
  'IXANY',
  'IMAXBEL',
  'IUTF8',
  'TTY_OP_ISPEED',
  'TTY_OP_OSPEED',
]);

function outputModes(modes: PseudoTtyInfo['modes'] | undefined): PseudoTtyOptions['modes'] {
  const kept: Record<string, number> = {};
  for (const [name, value] of Object.entries(modes ?? {})) {
    if (OUTPUT_MODES.has(name) && typeof value === 'number') kept[name] = value;
  }
  return kept;
}

/**
 * Calls the target connection, which may have closed while a request was being decided (its client
 * went away, or the session ended): ssh2 then throws `Not connected` at once instead of calling back.
 * That is a refusal of this one request. Thrown, it would end the whole process, and with it every
 * other session the agent (or gateway) serves.
 */
function atTarget(call: () => void, failed: (error: Error) => void): void {
  try {
    call();
  } catch (error) {
    failed(error instanceof Error ? error : new Error(String(error)));
  }
}

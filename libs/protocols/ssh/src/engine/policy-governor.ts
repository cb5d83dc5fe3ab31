import { envNameAllowed, readShellCommand } from '@tollgate/policy';
import type { CommandPort } from '@tollgate/protocol-tcp';
import type { PseudoTtyInfo } from 'ssh2';
import type { ChannelPairHooks } from '../bridge/channel-pair';
import type { ForwardingRequest, SessionGovernor, SessionRequest, Verdict } from '../bridge/session-bridge';
import { ShellInputGate } from '../shell/shell-input-gate';
import { ShellScriptGate } from '../shell/shell-script-gate';
import { SftpTransferAudit } from '../sftp/sftp-transfer-audit';
import { ScpSinkGate, ScpSourceGate, scpSink, scpSource } from '../sftp/scp-gates';
import type { ShellLine } from '../shell/shell-line-reader';

/**
 * How a request reads in policy and audit: an exec request is its command line; other requests are
 * written in angle brackets, which no command line starts with (`<shell>`, `<subsystem sftp>`,
 * `<direct-tcpip db:5432>`), so a policy pattern can tell them apart.
 */
export function requestText(request: SessionRequest | ForwardingRequest): string {
  switch (request.kind) {
    case 'exec':
      return request.command;
    case 'shell':
      return '<shell>';
    case 'subsystem':
      return `<subsystem ${request.name}>`;
    case 'direct-tcpip':
    case 'tcpip-forward':
      return `<${request.kind} ${request.host}:${request.port}>`;
    case 'streamlocal':
      return `<streamlocal ${request.path}>`;
    case 'x11':
    case 'auth-agent':
      return `<${request.kind}>`;
  }
}

const FORWARDING_NAMES: Record<ForwardingRequest['kind'], string> = {
  'direct-tcpip': 'local port forwarding',
  'tcpip-forward': 'remote port forwarding',
  streamlocal: 'Unix socket forwarding',
  x11: 'X11 forwarding',
  'auth-agent': 'agent forwarding',
};

/**
 * The agent's side: every request is decided by the enforced policy and recorded (through the
 * session's CommandPort) before it reaches the target; each line typed into a PTY shell is decided
 * when Enter is pressed; forwarding of every kind is refused and recorded.
 */
export function policyGovernor(
  commands: CommandPort,
  options: {
    execOnly?: boolean;
    /** The target's start directory (the login's home), where a relative scp path lands. */
    startDirectory?: () => Promise<string | undefined>;
  } = {},
): SessionGovernor {
  const decide = (text: string, notify: (message: string) => void, uncertain?: string): Promise<Verdict> =>
    commands.decide(
      text,
      { kind: 'ssh', command: text, ...(uncertain ? { parseError: uncertain } : {}) },
      notify,
    );

  let ran = false;
  return {
    acceptsEnv: (name) => {
      if (envNameAllowed(commands.envAllowlist, name)) return true;
      // The name only: a value may be a secret.
      commands.report({
        command: `<env ${name.slice(0, 200)}>`,
        rows: 0,
        bytes: 0,
        durationMs: 0,
        error: 'refused: the policy does not allow this environment variable (allow: {env: [...]})',
        masked: [],
      });
      return false;
    },
    decide: (request, notify) => {
      if (options.execOnly) {
        // `tollgate exec`: the session was authorized for one command, not for a shell or a transfer.
        if (request.kind !== 'exec' || ran) {
          const message = `an exec session runs one command; use \`tollgate connect\` for ${request.kind === 'exec' ? 'more' : `a ${request.kind}`}`;
          commands.report({
            command: requestText(request),
            rows: 0,
            bytes: 0,
            durationMs: 0,
            error: `refused: ${message}`,
            masked: [],
          });
          return Promise.resolve({ allow: false, message });
        }
        ran = true;
      }
      // A command whose meaning the shell decides when it runs cannot be matched by its text.
      return decide(
        requestText(request),
        notify,
        request.kind === 'exec' ? readShellCommand(request.command).ambiguous : undefined,
      );
    },
    forwarding: async (request) => {
      // Port forwarding passes when policy grants `forward` on the connection, and is then decided
      // as its request text like any command (guardrails may deny or hold it); X11 and agent
      // forwarding cannot be relayed through Tollgate at all.
      const relayable = request.kind === 'direct-tcpip' || request.kind === 'tcpip-forward';
      if (relayable && commands.forwarding && !options.execOnly)
        return decide(requestText(request), () => undefined);
      const message = `${FORWARDING_NAMES[request.kind]} is not allowed through Tollgate`;
      commands.report({
        command: requestText(request),
        rows: 0,
        bytes: 0,
        durationMs: 0,
        error: `refused: ${message}`,
        masked: [],
      });
      return { allow: false, message };
    },
    channelHooks: (request, pty, stderr, end): ChannelPairHooks => {
      const startedAt = performance.now();
      let bytes = 0;
      const hooks: { -readonly [K in keyof ChannelPairHooks]: ChannelPairHooks[K] } = {
        output: (chunk) => (bytes += chunk.length),
        closed: (exit) =>
          commands.report({
            command: requestText(request),
            rows: 0,
            bytes,
            durationMs: performance.now() - startedAt,
            ...(exit && 'code' in exit && exit.code !== 0 ? { error: `exit status ${exit.code}` } : {}),
            ...(exit && 'signal' in exit ? { error: `killed by signal ${exit.signal}` } : {}),
            masked: [],
          }),
      };
      if (request.kind === 'subsystem' && request.name === 'sftp') {
        const transfers = new SftpTransferAudit(
          (text, uncertain) => decide(text, stderr, uncertain),
          (transfer) =>
            commands.report({
              command: `<sftp ${transfer.direction} ${transfer.path}>${transfer.sha256 ? ` sha256:${transfer.sha256}` : ''}`,
              rows: 0,
              bytes: transfer.bytes,
              durationMs: performance.now() - startedAt,
              masked: [],
            }),
          (reason) => end(`tollgate: the SFTP session was ended: ${reason}`),
        );
        const closed = hooks.closed;
        hooks.input = (chunk, write, release, reply) => transfers.input(chunk, write, release, reply);
        hooks.outputFilter = (chunk) => transfers.output(chunk);
        hooks.closed = (exit) => {
          transfers.end();
          closed?.(exit);
        };
      }
      // Legacy scp's upload (`scp -O`: an exec of `scp -t PATH`) writes the files its client names
      // in the SCP protocol: each is decided as an SFTP write is.
      const sink = request.kind === 'exec' ? scpSink(request.command) : undefined;
      // Its download (`scp -f PATH`) sends the files it reads: each is decided as an SFTP read is.
      const source = request.kind === 'exec' ? scpSource(request.command) : undefined;
      if (source) {
        const gate = new ScpSourceGate(
          source,
          options.startDirectory ?? (() => Promise.resolve(undefined)),
          (text, uncertain) => decide(text, stderr, uncertain),
        );
        hooks.outputGate = (chunk, send, toTarget) => gate.output(chunk, send, toTarget);
      }
      // What is typed at a terminal is decided line by line, whatever runs there (a shell, or a
      // program an exec started with a PTY: `ssh -t host bash`); a shell without a PTY reads its
      // stdin as a script, decided line by line before the shell sees it.
      if (sink) {
        const gate = new ScpSinkGate(
          sink,
          options.startDirectory ?? (() => Promise.resolve(undefined)),
          (text, uncertain) => decide(text, stderr, uncertain),
          (reason) => end(`tollgate: the scp upload was ended: ${reason}`),
        );
        hooks.input = (chunk, write, release, reply) => gate.input(chunk, write, release, reply);
      } else if ((request.kind === 'shell' || request.kind === 'exec') && pty) {
        const gate = new ShellInputGate(
          (line: ShellLine) => decide(line.text, stderr, line.uncertain),
          (message) => stderr(`\r\ntollgate: ${message}`),
        );
        hooks.input = (chunk, write, resume) => gate.input(chunk, write, resume);
      } else if (request.kind === 'shell') {
        const gate = new ShellScriptGate(
          (line: ShellLine) => decide(line.text, stderr, line.uncertain),
          (message) => stderr(`tollgate: ${message}`),
        );
        hooks.input = (chunk, write, resume) => gate.input(chunk, write, resume);
        hooks.inputEnd = (write) => gate.end(write);
      }
      if (isRecorded(request)) record(commands, request, pty, hooks, end);
      return hooks;
    },
  };
}

type MutableHooks = { -readonly [K in keyof ChannelPairHooks]: ChannelPairHooks[K] };

/**
 * Shells and exec commands are recorded; file transfers are not (the sftp subsystem and `scp -t`/
 * `scp -f` carry file contents, audited with their sha256 instead).
 */
function isRecorded(request: SessionRequest): boolean {
  if (request.kind === 'shell') return true;
  // Only scp itself is left unrecorded: a command chained after it (`scp -f x; cat y`, or on a
  // line of its own) is not a transfer, so any shell syntax beyond scp's own words on one line
  // (spaces and tabs between them, never a line break) makes the command recorded.
  return (
    request.kind === 'exec' &&
    !/^[ \t]*scp(?:[ \t]+-[a-zA-Z0-9]+)*[ \t]+-[a-zA-Z0-9]*[tf][a-zA-Z0-9]*(?:[ \t]+-[a-zA-Z0-9]+)*(?:[ \t]+[^\s;&|<>()`$'"\\#]+)*[ \t]*$/.test(
      request.command,
    )
  );
}

/**
 * Adds the recording (asciicast v2, through the session's CommandPort) to a channel's hooks: what
 * the target printed on stdout and stderr, what the user typed into a shell (an exec's stdin is data,
 * not typing, and is not recorded), window changes, the end. A recording the gateway cannot store
 * ends the channel (fail closed).
 */
function record(
  commands: CommandPort,
  request: SessionRequest,
  pty: PseudoTtyInfo | undefined,
  hooks: MutableHooks,
  end: (message: string) => void,
): void {
  const kind = request.kind === 'exec' ? 'exec' : 'shell';
  const recording = commands.record({
    kind,
    ...(request.kind === 'exec' ? { command: request.command } : {}),
    width: pty && pty.cols > 0 ? pty.cols : 80,
    height: pty && pty.rows > 0 ? pty.rows : 24,
    ...(pty?.term ? { env: { TERM: pty.term } } : {}),
    onRefused: (reason) =>
      end(`\r\ntollgate: the ${kind} was ended: its recording could not be stored (${reason})`),
  });
  const { output, input, closed } = hooks;
  hooks.output = (chunk) => {
    output?.(chunk);
    recording.onOutput(chunk);
  };
  hooks.errorOutput = (chunk) => recording.onOutput(chunk);
  if (kind === 'shell' || pty) {
    hooks.input = (chunk, write, release, reply) => {
      recording.onInput(chunk);
      if (input) return input(chunk, write, release, reply);
      write(chunk);
      return false;
    };
  }
  hooks.resize = (columns, rows) => recording.onResize(columns, rows);
  hooks.closed = (exit) => {
    recording.end();
    closed?.(exit);
  };
}

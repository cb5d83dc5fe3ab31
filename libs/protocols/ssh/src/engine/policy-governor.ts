import type { CommandPort } from '@tollgate/protocol-tcp';
import type { ChannelPairHooks } from '../bridge/channel-pair';
import type { ForwardingRequest, SessionGovernor, SessionRequest, Verdict } from '../bridge/session-bridge';
import { ShellInputGate } from '../shell/shell-input-gate';
import { SftpTransferAudit } from '../sftp/sftp-transfer-audit';
import type { ShellLine } from '../shell/shell-line-reader';

/** Variables a client may pass (OpenSSH's SendEnv default set and the time zone). */
export const DEFAULT_ENV_ALLOWLIST: readonly string[] = ['LANG', 'LC_*', 'TZ'];

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
export function policyGovernor(commands: CommandPort, envAllowlist: readonly string[]): SessionGovernor {
  const decide = (text: string, notify: (message: string) => void, uncertain?: string): Promise<Verdict> =>
    commands.decide(
      text,
      { kind: 'ssh', command: text, ...(uncertain ? { parseError: uncertain } : {}) },
      notify,
    );

  return {
    acceptsEnv: (name) =>
      envAllowlist.some((pattern) =>
        pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern,
      ),
    decide: (request, notify) => decide(requestText(request), notify),
    forwarding: (request) => {
      const message = `${FORWARDING_NAMES[request.kind]} is not allowed through Tollgate`;
      commands.report({
        command: requestText(request),
        rows: 0,
        bytes: 0,
        durationMs: 0,
        error: `refused: ${message}`,
        masked: [],
      });
      return Promise.resolve({ allow: false, message });
    },
    channelHooks: (request, pty, stderr): ChannelPairHooks => {
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
          (text) => decide(text, stderr),
          (transfer) =>
            commands.report({
              command: `<sftp ${transfer.direction} ${transfer.path}>${transfer.sha256 ? ` sha256:${transfer.sha256}` : ''}`,
              rows: 0,
              bytes: transfer.bytes,
              durationMs: performance.now() - startedAt,
              masked: [],
            }),
        );
        const closed = hooks.closed;
        hooks.input = (chunk, write, release, reply) => transfers.input(chunk, write, release, reply);
        hooks.output = (chunk) => {
          bytes += chunk.length;
          transfers.output(chunk);
        };
        hooks.closed = (exit) => {
          transfers.end();
          closed?.(exit);
        };
      }
      if (request.kind === 'shell' && pty) {
        const gate = new ShellInputGate(
          (line: ShellLine) => decide(line.text, stderr, line.uncertain),
          (message) => stderr(`\r\ntollgate: ${message}`),
        );
        hooks.input = (chunk, write, resume) => gate.input(chunk, write, resume);
      }
      return hooks;
    },
  };
}

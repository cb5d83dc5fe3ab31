import type { TerminalRecording } from '@tollgate/audit';
import type { BodyRecording, CommandFacts, MaskingRules } from '@tollgate/policy';

export type CommandVerdict =
  | { readonly allow: true }
  /** `rule`: the policy rule that refused it, when one did (not for an audit failure). */
  | { readonly allow: false; readonly message: string; readonly rule?: string };

/**
 * What a command-aware engine (postgres, later mysql, ssh...) gets from the agent for one session:
 * each command decided by the enforced policy and recorded durably before the answer (fail closed),
 * and the masking rules the session must apply. Engines that relay bytes (tcp) ignore it.
 */
export interface CommandPort {
  readonly masking: MaskingRules;
  /**
   * Whether policy grants the session's subject `forward` on the connection (SSH port forwarding);
   * each forwarding request is then still decided and recorded as a command.
   */
  readonly forwarding: boolean;
  /**
   * The environment variables an SSH client may pass to the target (names, `PREFIX*`, `*`), from
   * the policy's `allow: {env: [...]}` (sshEnvAllowlist); the others are refused and recorded.
   */
  readonly envAllowlist: readonly string[];
  /**
   * Which HTTP bodies the session records in its results (the policy's `audit` rules with `bodies`),
   * fixed when it opens; undefined: none (nothing is captured).
   */
  readonly bodies?: BodyRecording;
  /** Resolves only after the decision is durable; `notify` reaches the client while a command is held. */
  decide(text: string, facts: CommandFacts, notify: (message: string) => void): Promise<CommandVerdict>;
  /** What a forwarded command did at the target, for the session's audit trail (not awaited). */
  report(result: CommandResultReport): void;
  /**
   * Starts a terminal recording (asciicast v2) of one stream of the session: an SSH shell or exec,
   * a Kubernetes exec. The agent ships it to the gateway, which stores it; when the gateway cannot,
   * `onRefused` is called once and the engine must end the recorded stream (fail closed).
   */
  record(start: RecordingStart): TerminalRecording;
}

export interface RecordingStart {
  readonly kind: 'shell' | 'exec';
  /** The command of an exec; absent for a shell. */
  readonly command?: string;
  /** The terminal's size (80x24 for a stream without one). */
  readonly width: number;
  readonly height: number;
  /** Terminal settings worth replaying with (TERM). */
  readonly env?: Readonly<Record<string, string>>;
  readonly onRefused: (reason: string) => void;
}

export interface CommandResultReport {
  readonly command: string;
  readonly rows: number;
  readonly bytes: number;
  readonly durationMs: number;
  readonly error?: string;
  readonly masked: readonly string[];
  /** The response's status code, for protocols that have one (http, kubernetes). */
  readonly status?: number;
  /**
   * The first bytes of the request's and the response's body as text, where the session records
   * bodies (CommandPort.bodies); the port masks them with the session's masking rules before they
   * are recorded. Absent: not recorded (off, empty, or see bodyNotes).
   */
  readonly requestBody?: string;
  readonly responseBody?: string;
  /** The bodies recorded in part (their first max_bytes): `request`, `response`. */
  readonly bodyTruncated?: readonly string[];
  /** Why a body the session would record was not (`response: gzip-encoded body not recorded`). */
  readonly bodyNotes?: readonly string[];
}

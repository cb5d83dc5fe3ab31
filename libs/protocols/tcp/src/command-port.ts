import type { CommandFacts, MaskingRules } from '@tollgate/policy';

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
  /** Resolves only after the decision is durable; `notify` reaches the client while a command is held. */
  decide(text: string, facts: CommandFacts, notify: (message: string) => void): Promise<CommandVerdict>;
  /** What a forwarded command did at the target, for the session's audit trail (not awaited). */
  report(result: CommandResultReport): void;
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
}

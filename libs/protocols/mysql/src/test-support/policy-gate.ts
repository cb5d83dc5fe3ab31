import { decideCommand, type CommandContext, type Policy, type SqlCommandFacts } from '@tollgate/policy';
import type { CommandGate, GateVerdict } from '../proxy/command-gate';

const DEFAULT_CONTEXT: CommandContext = {
  subject: { subject: 'user:alice', groups: ['dev'], actorChain: [] },
  connection: { name: 'my-test', protocol: 'mysql', tags: { env: 'test' } },
  readOnly: false,
};

/**
 * For tests: the gate the agent builds, on the real policy engine, without the audit; approvals come
 * from the test as a reviewer would (`approve`). `policy` may be replaced between commands.
 */
export class PolicyGate implements CommandGate {
  readonly decisions: string[] = [];
  approve: ((verdict: GateVerdict) => void) | undefined;

  constructor(
    public policy: Policy,
    private readonly context: CommandContext = DEFAULT_CONTEXT,
  ) {}

  async decide(
    command: Parameters<CommandGate['decide']>[0],
    notify: Parameters<CommandGate['decide']>[1],
  ): Promise<GateVerdict> {
    const facts: SqlCommandFacts = command.classification.ok
      ? { kind: 'sql', statements: command.classification.statements }
      : {
          kind: 'sql',
          statements: [],
          parseError: command.classification.error,
          ...(command.classification.mayStore ? { unparsedMayStore: true as const } : {}),
        };
    const decision = decideCommand(this.policy, this.context, facts);
    this.decisions.push(`${decision.decision} ${command.via}: ${command.text}`);
    if (decision.decision === 'allow') return { allow: true };
    if (decision.decision === 'deny') return { allow: false, message: decision.message };
    // As the agent's gate does once the review is filed.
    notify(
      `${decision.requirements[0]?.message ?? 'approval required'}. Waiting for approval: review test-review.`,
    );
    return new Promise((resolve) => (this.approve = resolve));
  }
}

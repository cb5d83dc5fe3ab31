import { decideCommand, parsePolicy, type CommandContext, type Policy } from '@tollgate/policy';
import { TerminalRecorder, type TerminalRecording } from '@tollgate/audit';
import type { CommandPort, CommandResultReport, RecordingStart } from '@tollgate/protocol-tcp';

/**
 * For tests: the command port the agent builds, on the real policy engine, without the audit:
 * decisions and results are kept for the test to read.
 */
export class PolicyCommands implements Pick<CommandPort, 'decide' | 'report' | 'record'> {
  readonly decisions: string[] = [];
  readonly results: CommandResultReport[] = [];
  readonly policy: Policy;

  constructor(
    yaml: string,
    private readonly context: CommandContext = {
      subject: { subject: 'user:alice', groups: ['dev'], actorChain: [] },
      connection: { name: 'web', protocol: 'http', tags: { env: 'test' } },
      readOnly: false,
    },
  ) {
    const parsed = parsePolicy(yaml, 'policy.yaml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    this.policy = parsed.policy;
  }

  decide: CommandPort['decide'] = (text, facts) => {
    const decision = decideCommand(this.policy, this.context, facts);
    this.decisions.push(`${decision.decision} ${text}`);
    if (decision.decision === 'deny') {
      return Promise.resolve({ allow: false, message: decision.message, rule: decision.rule });
    }
    if (decision.decision === 'require_approval') {
      return Promise.resolve({
        allow: false,
        message: `${decision.message} (no reviewer in tests)`,
        rule: decision.rule,
      });
    }
    return Promise.resolve({ allow: true });
  };

  report = (result: CommandResultReport): void => {
    this.results.push(result);
  };

  /** The recordings made, as the gateway would store them (text grows as chunks arrive). */
  readonly recordings: { start: RecordingStart; text: string; final: boolean }[] = [];

  record = (start: RecordingStart): TerminalRecording => {
    const entry = { start, text: '', final: false };
    this.recordings.push(entry);
    return new TerminalRecorder(
      { header: { width: start.width, height: start.height }, maxBytes: 1 << 20, flushMs: 20 },
      (chunk) => {
        entry.text += chunk.data.toString('utf8');
        entry.final ||= chunk.final;
      },
    );
  };
}

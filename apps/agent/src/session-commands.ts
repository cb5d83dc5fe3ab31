import { TerminalRecorder } from '@tollgate/audit';
import { Masker } from '@tollgate/masking';
import {
  auditModeFor,
  bodyRecordingFor,
  evaluateAccess,
  maskingRulesFor,
  sshEnvAllowlist,
  type CommandContext,
  type Policy,
} from '@tollgate/policy';
import { Protocol, type ConnectionSpec, type OpenSession, type SessionUp } from '@tollgate/proto';
import type { CommandPort } from '@tollgate/protocol-tcp';
import { gateCommand } from './command-gate';
import { SessionAuditClient, type EdgeAudit } from './session-audit-client';

/** The agent's journal and its lag bound, for sessions in the edge audit mode. */
export type AgentJournalPort = Pick<EdgeAudit, 'journal' | 'refusal'>;

const PROTOCOL_NAMES: Partial<Record<Protocol, string>> = {
  [Protocol.POSTGRES]: 'postgres',
  [Protocol.MYSQL]: 'mysql',
  [Protocol.SSH]: 'ssh',
  [Protocol.KUBERNETES]: 'kubernetes',
  [Protocol.HTTP]: 'http',
  [Protocol.TCP]: 'tcp',
};

/** A policy version as the agent enforces it. */
export interface EnforcedPolicy {
  readonly version: number;
  readonly policy: Policy;
}

/** The session's policy path, and how it takes a new policy version while it runs. */
export interface SessionCommands {
  readonly port: CommandPort;
  readonly audit: SessionAuditClient;
  /**
   * A new policy version reached the agent: its guardrails and approval rules decide the session's
   * next command. Returns why the session cannot go on under it instead (what was fixed when it
   * opened would change: masking, read-only, audit mode, forwarding, SSH environment), or undefined.
   */
  follow(next: EnforcedPolicy, spec: ConnectionSpec | undefined): string | undefined;
}

/**
 * The policy and audit path one session's engine uses: commands are decided by the policy version
 * the agent enforces now (a version applied while the session runs decides its next command), for
 * the subject and actor chain the gateway verified, and recorded over the session's own stream
 * before the engine may forward them.
 */
export function sessionCommands(
  spec: ConnectionSpec,
  request: OpenSession,
  verb: 'connect' | 'exec',
  enforced: EnforcedPolicy,
  send: (message: SessionUp) => void,
  journal: AgentJournalPort,
  recordingMaxBytes = 64 * 1024 * 1024,
): SessionCommands {
  const who = {
    subject: request.context?.subject ?? '',
    groups: request.context?.groups ?? [],
    actorChain: (request.context?.actors ?? []).map((actor) => ({ subject: actor.subject })),
  };
  const connectionOf = (of: ConnectionSpec) => ({
    name: of.name,
    protocol: PROTOCOL_NAMES[of.protocol] ?? 'tcp',
    tags: of.tags,
  });
  const connection = connectionOf(spec);
  // What a policy version fixes for the whole session when it opens (the engines compile masking,
  // choose the audit path and admit forwarding once).
  const settingsUnder = (policy: Policy, connection: ReturnType<typeof connectionOf>) => {
    // The session's limits (read-only) come from the roles that grant the verb it was opened for, and
    // from the gateway's decision: a session opened under a read-only just-in-time grant (which only
    // the gateway knows) is read-only though no role grants it. Either saying read-only makes it so.
    const access = evaluateAccess(policy, who, verb, connection);
    const context: CommandContext = {
      subject: who,
      connection,
      readOnly:
        request.context?.readOnly === true || policy.sessions.readOnly || (access.session?.readOnly ?? false),
    };
    return {
      context,
      auditMode: auditModeFor(policy, context),
      bodies: bodyRecordingFor(policy, context),
      masking: maskingRulesFor(policy, context),
      // Both the policy's roles and the session token's scopes must grant it (a `connect:NAME`
      // credential does not forward).
      forwarding:
        evaluateAccess(policy, who, 'forward', connection).allowed &&
        scopesPermitForward(request.context?.scopes ?? [], spec.name),
      envAllowlist: sshEnvAllowlist(policy, context),
    };
  };
  const settings = settingsUnder(enforced.policy, connection);
  const { masking } = settings;
  // The policy version and the connection (its tags) the session's next command is decided under.
  let current = enforced;
  let context = settings.context;
  // Edge (the default): the agent's journal; `audit: gateway` in the policy: the gateway's commit.
  const edge: EdgeAudit | undefined =
    settings.auditMode === 'edge'
      ? {
          journal: journal.journal,
          refusal: () => journal.refusal(),
          session: {
            id: request.sessionId,
            actor: { subject: who.subject, actorChain: who.actorChain.map((a) => a.subject) },
            connection: { name: connection.name, protocol: connection.protocol },
          },
        }
      : undefined;
  const audit = new SessionAuditClient(send, {
    policyVersion: enforced.version,
    ...(edge ? { edge } : {}),
  });
  // The statement as recorded (audit, reviews, export, webhook) hides what the session's content
  // detectors hide in results: a value the policy masks must not reach the log through a literal.
  const detectors = Masker.compile([{ detectors: masking.detectors, columns: [] }]);
  const recorded = (text: string) => detectors.maskContent(text, 'text').value ?? text;
  // A recorded body is masked as a result is: what the detectors found is named in `masked`.
  // A truncated body's text runs past max_bytes (so a value crossing the cut is masked whole), and
  // is cut to max_bytes once masked.
  const maskBody = (
    text: string | undefined,
    truncated: boolean,
    maxBytes: number | undefined,
    masked: Set<string>,
  ): string | undefined => {
    if (!text || maxBytes === undefined) return undefined;
    const outcome = detectors.maskContent(text, 'text');
    for (const reason of outcome.reasons) masked.add(reason);
    const value = outcome.value ?? text;
    return truncated ? utf8Prefix(value, maxBytes) : value;
  };
  const port: CommandPort = {
    masking,
    forwarding: settings.forwarding,
    envAllowlist: settings.envAllowlist,
    ...(settings.bodies ? { bodies: settings.bodies } : {}),
    decide: async (text, facts, notify) => {
      const result = await gateCommand({
        policy: current.policy,
        policyNow: () => current.policy,
        context,
        facts,
        text: recorded(text),
        audit,
        notify,
      });
      return result.allow
        ? { allow: true }
        : { allow: false, message: result.message, ...(result.rule ? { rule: result.rule } : {}) };
    },
    report: (result) => {
      const masked = new Set(result.masked);
      const truncated = result.bodyTruncated ?? [];
      const requestBody = maskBody(
        result.requestBody,
        truncated.includes('request'),
        settings.bodies?.request?.maxBytes,
        masked,
      );
      const responseBody = maskBody(
        result.responseBody,
        truncated.includes('response'),
        settings.bodies?.response?.maxBytes,
        masked,
      );
      audit.result({
        command: recorded(result.command),
        rows: result.rows,
        bytes: result.bytes,
        durationMs: result.durationMs,
        ...(result.error ? { error: result.error } : {}),
        masked: masked.size > result.masked.length ? [...masked] : result.masked,
        ...(result.status ? { status: result.status } : {}),
        ...(requestBody ? { requestBody } : {}),
        ...(responseBody ? { responseBody } : {}),
        ...(result.bodyTruncated?.length ? { bodyTruncated: result.bodyTruncated } : {}),
        ...(result.bodyNotes?.length ? { bodyNotes: result.bodyNotes } : {}),
      });
    },
    // Each recorded stream gets the next number; its chunks go up the session's stream in order.
    record: (start) => {
      const recording = audit.recordings.open(start.onRefused);
      return new TerminalRecorder(
        {
          header: {
            width: start.width,
            height: start.height,
            ...(start.command !== undefined ? { command: start.command } : {}),
            ...(start.env ? { env: { ...start.env } } : {}),
            title: `${spec.name} ${start.kind}`,
          },
          maxBytes: recordingMaxBytes,
        },
        (chunk) => {
          if (chunk.final) audit.recordings.done(recording);
          send({
            kind: {
              $case: 'recordingChunk',
              recordingChunk: {
                recording,
                seq: chunk.seq,
                kind: chunk.seq === 0 ? start.kind : '',
                command: chunk.seq === 0 ? (start.command ?? '') : '',
                data: chunk.data,
                final: chunk.final,
                truncated: chunk.truncated,
              },
            },
          });
        },
      );
    },
  };
  const follow = (next: EnforcedPolicy, nextSpec: ConnectionSpec | undefined): string | undefined => {
    if (!nextSpec || nextSpec.protocol !== spec.protocol)
      return `this agent no longer serves connection "${spec.name}"`;
    const now = settingsUnder(next.policy, connectionOf(nextSpec));
    const changed = [
      now.context.readOnly !== context.readOnly && 'read-only',
      now.auditMode !== settings.auditMode && 'audit mode',
      !sameJson(now.bodies, settings.bodies) && 'body recording',
      !sameJson(now.masking, masking) && 'masking',
      now.forwarding !== settings.forwarding && 'forwarding',
      !sameJson(now.envAllowlist, settings.envAllowlist) && 'SSH environment',
    ].filter((what): what is string => what !== false);
    if (changed.length > 0)
      return `policy version ${next.version} changes this session's ${changed.join(', ')}; reconnect to work under it`;
    current = next;
    context = now.context;
    audit.policyVersion = next.version;
    return undefined;
  };
  return { port, audit, follow };
}

/** The longest start of `text` within `maxBytes` of UTF-8 (a character cut in half is left out). */
function utf8Prefix(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  return new TextDecoder().decode(bytes.subarray(0, maxBytes), { stream: true });
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether token scopes include `forward` or `forward:GLOB` matching the connection (fail closed). */
export function scopesPermitForward(scopes: readonly string[], connection: string): boolean {
  return scopes.some((scope) => {
    if (scope === 'forward') return true;
    if (!scope.startsWith('forward:')) return false;
    const glob = scope.slice('forward:'.length);
    const pattern = new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    return pattern.test(connection);
  });
}

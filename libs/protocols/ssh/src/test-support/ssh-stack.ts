import { decideCommand, parsePolicy, type CommandContext, type Policy } from '@tollgate/policy';
import { Protocol, type ConnectionSpec, type StreamFrame } from '@tollgate/proto';
import { TerminalRecorder, type TerminalRecording } from '@tollgate/audit';
import {
  frameStreamDuplex,
  type CommandPort,
  type CommandResultReport,
  type FrameCodec,
  type RecordingStart,
} from '@tollgate/protocol-tcp';
import { SshEngine } from '../engine/ssh.engine';
import { startSshFront, type SshFront } from '../front/ssh-front';
import { MemoryHostKeyPins } from '../target/host-key-pins';
import { generateEd25519KeyPair } from '../keys/ed25519-key-pair';
import { frameStreamPair } from '@tollgate/testing';

const codec: FrameCodec<StreamFrame, StreamFrame> = { wrap: (f) => f, unwrap: (f) => ({ frame: f }) };

export function policyOf(yaml: string): Policy {
  const parsed = parsePolicy(yaml, 'test.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.policy;
}

/**
 * The agent's command port on the real policy engine, recording what it decided (the audit trail a
 * test inspects); approvals wait for the test (`approve`).
 */
export class RecordingCommandPort implements CommandPort {
  readonly masking = { rules: [] } as unknown as CommandPort['masking'];
  forwarding = false;
  envAllowlist: readonly string[] = ['LANG', 'LC_*', 'TZ'];
  readonly decisions: string[] = [];
  readonly results: CommandResultReport[] = [];
  approve: ((allow: boolean) => void) | undefined;

  constructor(
    public policy: Policy,
    private readonly context: CommandContext = {
      subject: { subject: 'user:alice', groups: ['dev'], actorChain: [] },
      connection: { name: 'ssh-test', protocol: 'ssh', tags: {} },
      readOnly: false,
    },
  ) {}

  async decide(text: string, facts: Parameters<CommandPort['decide']>[1], notify: (message: string) => void) {
    const decision = decideCommand(this.policy, this.context, facts);
    this.decisions.push(`${decision.decision}: ${text}`);
    if (decision.decision === 'allow') return { allow: true } as const;
    if (decision.decision === 'deny') return { allow: false, message: decision.message } as const;
    notify(`Tollgate: "${decision.rule}" requires approval; waiting for a reviewer`);
    const allowed = await new Promise<boolean>((resolve) => (this.approve = resolve));
    return allowed
      ? ({ allow: true } as const)
      : ({ allow: false, message: 'the review was rejected' } as const);
  }

  report(result: CommandResultReport): void {
    this.results.push(result);
  }

  /** The recordings made, as the gateway would store them (text grows as chunks arrive). */
  readonly recordings: {
    start: RecordingStart;
    text: string;
    final: boolean;
    refuse(reason: string): void;
  }[] = [];

  record(start: RecordingStart): TerminalRecording {
    const entry = { start, text: '', final: false, refuse: (reason: string) => start.onRefused(reason) };
    this.recordings.push(entry);
    return new TerminalRecorder(
      { header: { width: start.width, height: start.height }, maxBytes: 1 << 20, flushMs: 20 },
      (chunk) => {
        entry.text += chunk.data.toString('utf8');
        entry.final ||= chunk.final;
      },
    );
  }
}

export interface SshTarget {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly fingerprints?: readonly string[];
  readonly trustOnFirstUse?: boolean;
  readonly password?: string;
  readonly privateKey?: string;
  readonly passphrase?: string;
}

export function sshSpec(target: SshTarget): { spec: ConnectionSpec; secrets: Map<string, string> } {
  const secrets = new Map<string, string>();
  if (target.password) secrets.set('env:SSH_PASSWORD', target.password);
  if (target.privateKey) secrets.set('file:/key', target.privateKey);
  if (target.passphrase) secrets.set('env:SSH_PASSPHRASE', target.passphrase);
  return {
    secrets,
    spec: {
      name: 'ssh-test',
      protocol: Protocol.SSH,
      credentialRef: target.password ? 'env:SSH_PASSWORD' : target.privateKey ? 'file:/key' : '',
      tags: {},
      target: {
        $case: 'ssh',
        ssh: {
          host: target.host,
          port: target.port,
          username: target.username,
          hostKeyFingerprints: [...(target.fingerprints ?? [])],
          trustOnFirstUse: target.trustOnFirstUse ?? false,
          privateKeyRef: target.privateKey ? 'file:/key' : '',
          passphraseRef: target.passphrase ? 'env:SSH_PASSPHRASE' : '',
        },
      },
    },
  };
}

/**
 * `tollgate connect`'s SSH front on a free loopback port, each client connection served by the SSH
 * engine as the agent runs it, joined by an in-memory stream in place of gateway and tunnel.
 */
export async function startEngineFront(
  target: SshTarget,
  commands: CommandPort,
  verb: 'connect' | 'exec' = 'connect',
): Promise<{
  front: SshFront;
  engine: SshEngine;
  pins: MemoryHostKeyPins;
  /** Each session the engine opened, in order: settles once it has ended (its target connection too). */
  sessions: readonly Promise<void>[];
}> {
  const sessions: Promise<void>[] = [];
  const { spec, secrets } = sshSpec(target);
  const pins = new MemoryHostKeyPins();
  const engine = new SshEngine({
    resolveSecret: (reference) => {
      const value = secrets.get(reference);
      if (value === undefined) throw new Error(`${reference} is not set`);
      return value;
    },
    pins,
  });
  const front = await startSshFront({
    hostKey: generateEd25519KeyPair().private,
    port: 0,
    openSession: async () => {
      const session = await engine.open(spec, { connectTimeoutMs: 10_000, commands, verb });
      const [near, far] = frameStreamPair({ highWaterMark: 16, later: true });
      sessions.push(
        session.relay(far, codec).then(
          () => undefined,
          () => undefined,
        ),
      );
      return frameStreamDuplex(near, codec);
    },
  });
  return { front, engine, pins, sessions };
}

import { DEFAULT_POLICY } from '@tollgate/policy';
import { EventEmitter } from 'node:events';
import {
  CloseCode,
  Protocol,
  SessionRefusalCode,
  SessionVerb,
  type AgentTunnelWireClient,
  type Bundle,
  type OpenSession,
} from '@tollgate/proto';
import { TcpEngine, type CommandPort, type RelayEngine } from '@tollgate/protocol-tcp';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EngineRegistry } from './engine-registry';
import type { AgentJournalPort } from './session-commands';
import { SessionRunner } from './session-runner';

const bundle: Bundle = {
  version: 'sha256:test',
  connections: [
    {
      name: 'echo',
      protocol: Protocol.TCP,
      credentialRef: '',
      tags: {},
      target: { $case: 'tcp', tcp: { host: '127.0.0.1', port: 9, tls: undefined } },
    },
  ],
  policyDocument: '',
  policyVersion: 4,
};

const offer = (policyVersion: number): OpenSession =>
  ({
    sessionId: 'session-1',
    connectionName: 'echo',
    context: { subject: 'user:1', policyVersion, verb: SessionVerb.CONNECT },
  }) as OpenSession;

/** Refusals happen before the runner opens any stream: no gateway is needed to see them. */
function runner(): SessionRunner {
  return new SessionRunner(
    {} as AgentTunnelWireClient,
    { token: 'token', instanceKey: 'instance' },
    new EngineRegistry([new TcpEngine()]),
    1_000,
    10,
    pino({ level: 'silent' }),
    {} as AgentJournalPort,
  );
}

describe('SessionRunner: a session runs only under the policy it was authorized under, or a later one', () => {
  it('refuses a session authorized under a version the agent has not applied', () => {
    expect(runner().open(offer(5), bundle, { version: 4, policy: DEFAULT_POLICY })).toEqual({
      code: SessionRefusalCode.POLICY_MISMATCH,
      message: 'the session was authorized under policy version 5, and this agent enforces version 4',
    });
  });

  it('refuses every session while the active version cannot be evaluated, until one that can', () => {
    const sessions = runner();
    sessions.policyUnusable(
      'this agent cannot evaluate the active policy (policy version 5 does not validate)',
    );
    expect(sessions.open(offer(4), bundle, { version: 4, policy: DEFAULT_POLICY })).toEqual({
      code: SessionRefusalCode.POLICY_MISMATCH,
      message: 'this agent cannot evaluate the active policy (policy version 5 does not validate)',
    });
    sessions.policyChanged({ version: 6, policy: DEFAULT_POLICY }, bundle);
    sessions.drain();
    // Past the policy check now: refused only because it drains.
    expect(sessions.open(offer(6), bundle, { version: 6, policy: DEFAULT_POLICY })).toMatchObject({
      code: SessionRefusalCode.SHUTTING_DOWN,
    });
  });
});

describe('SessionRunner: a session runs only for an identity its records can name', () => {
  it('refuses a session without a subject, or with an actor chain link that names nobody', () => {
    const nobody = { ...offer(4), context: { ...offer(4).context!, subject: '' } } as OpenSession;
    expect(runner().open(nobody, bundle, { version: 4, policy: DEFAULT_POLICY })?.message).toMatch(
      /names no subject/,
    );
    const brokenChain = {
      ...offer(4),
      context: {
        ...offer(4).context!,
        actors: [
          { subject: 'sa:pipeline', issuer: '' },
          { subject: '', issuer: '' },
        ],
      },
    } as OpenSession;
    expect(runner().open(brokenChain, bundle, { version: 4, policy: DEFAULT_POLICY })).toMatchObject({
      code: SessionRefusalCode.INTERNAL,
    });
  });
});

describe('SessionRunner: a session the gateway ends runs nothing more', () => {
  it('refuses a command whose record becomes durable after the kill arrived', async () => {
    // The session's stream to the gateway, and the engine's policy path once it opens.
    const stream = Object.assign(new EventEmitter(), {
      writableEnded: false,
      destroyed: false,
      write: () => true,
      end: () => undefined,
    });
    let port!: CommandPort;
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const engine: RelayEngine = {
      protocol: Protocol.TCP,
      open: (_spec, options) => {
        port = options.commands!;
        opened();
        return Promise.resolve({ relay: () => new Promise(() => undefined), abort: () => undefined });
      },
    };
    const writes: (() => void)[] = [];
    const journal: AgentJournalPort = {
      journal: {
        appendCanonical: () => new Promise<void>((resolve) => writes.push(resolve)),
        appendCanonicalLater: () => undefined,
        chain: 'chain-1',
        appendedThrough: 0,
      },
      refusal: () => undefined,
    };
    const sessions = new SessionRunner(
      { session: () => stream } as unknown as AgentTunnelWireClient,
      { token: 'token', instanceKey: 'instance' },
      new EngineRegistry([engine]),
      1_000,
      10,
      pino({ level: 'silent' }),
      journal,
    );
    expect(sessions.open(offer(4), bundle, { version: 4, policy: DEFAULT_POLICY })).toBeUndefined();
    await open;
    const verdict = port.decide(
      'rm -rf /srv/data',
      { kind: 'ssh', command: 'rm -rf /srv/data' },
      () => undefined,
    );
    // The gateway kills the session while the command's record is being written.
    stream.emit('data', {
      kind: { $case: 'close', close: { code: CloseCode.TERMINATED, reason: 'killed by admin' } },
    });
    for (const durable of writes) durable();
    await expect(verdict).resolves.toEqual({
      allow: false,
      message: 'the session was ended (killed by admin), so the command was not run',
    });
  });
});

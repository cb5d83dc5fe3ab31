import { DEFAULT_POLICY } from '@tollgate/policy';
import {
  Protocol,
  SessionRefusalCode,
  SessionVerb,
  type AgentTunnelWireClient,
  type Bundle,
  type OpenSession,
} from '@tollgate/proto';
import { TcpEngine } from '@tollgate/protocol-tcp';
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

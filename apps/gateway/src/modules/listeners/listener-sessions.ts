import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ClientDown } from '@tollgate/proto';
import { Injectable } from '@nestjs/common';
import { frameStreamDuplex, openFailureRefusal, relaySocket } from '@tollgate/protocol-tcp';
import { UnauthenticatedError } from '../../common/errors/unauthenticated.error';
import { AuditWriter } from '../audit/audit-writer';
import { inProcessCodec } from '../connections/usecases/run-query.usecase';
import { AccessTokenVerifier } from '../identity/access-token-verifier';
import type { Principal } from '../identity/principal';
import { SshKeysService } from '../identity/ssh-keys/ssh-keys.service';
import { scopesPermit } from '../identity/tokens/scopes';
import { SubjectDirectoryService } from '../identity/subjects/subject-directory.service';
import { InProcessSessions } from '../tunnel/in-process-sessions';
import { InterruptSession } from '../tunnel/interrupt-session';
import { TunnelLogger } from '../tunnel/tunnel-logger';
import type { GatewayListener, ListenerRefusal } from './gateway-listener';
import { listenerOwnerName, namesCredentialOwner } from './listener-user';
import { AuditThrottle } from '../tunnel/audit-throttle';
import { LOGIN_FAILURE_WINDOW_MS, LoginFailures, MAX_LOGIN_FAILURES } from './login-failures';

/**
 * The pipeline every gateway listener hands its clients to, whatever their protocol: the
 * credential is verified as any access token or API key is (refusals audited by the verifier), or
 * (SSH) the public key the client signed with is looked up in the key registry (its owner must be
 * enabled; refusals audited there), the
 * user name must name its owner (refusals audited here), and the session opens through the session
 * broker as `tollgate connect`'s do (access decision for `connect`, session record and durable
 * open event, an agent and its protocol engine with policy, approvals, masking and command audit).
 * The client's socket is then relayed to the session as `tollgate connect` relays its sockets.
 *
 * A cancel (PostgreSQL's CancelRequest, on a connection of its own and with no credential) names a
 * session by the key its client was given: a key of a session this replica relays interrupts that
 * session's running statement (InterruptSession); any other key does nothing, and the client
 * cannot tell the two apart (its socket was closed before the key was looked up).
 */
@Injectable()
export class ListenerSessions {
  constructor(
    private readonly verifier: AccessTokenVerifier,
    private readonly subjects: SubjectDirectoryService,
    private readonly sshKeys: SshKeysService,
    private readonly sessions: InProcessSessions,
    private readonly audit: AuditWriter,
    private readonly logger: TunnelLogger,
    private readonly interrupts: InterruptSession,
  ) {}

  /**
   * What names each open listener session from another connection of its client → the session
   * (this replica's) and its subject: PostgreSQL's cancel key, MySQL's connection id.
   */
  private readonly cancelKeys = new Map<string, { sessionId: string; subject: string; connection: string }>();
  /**
   * Failed logins by source address and user name: past a few a minute, that user name's logins
   * from the address are refused unchecked. Not by address alone: loopback, a shared NAT and a load
   * balancer in front of the gateway are many people's address, and one pipeline retrying an expired
   * token would lock them all out.
   */
  private readonly failures = new LoginFailures();
  /** ... and by address alone, at a ceiling ten times higher: a guesser varying the user name. */
  private readonly addressFailures = new LoginFailures(MAX_LOGIN_FAILURES * 10);
  /** Refusals of a blocked address are recorded once a window, with how many went unrecorded. */
  private readonly blockedRecords = new AuditThrottle(LOGIN_FAILURE_WINDOW_MS);
  /** Refusals before a credential (no TLS, a malformed start-up) likewise. */
  private readonly refusedRecords = new AuditThrottle(LOGIN_FAILURE_WINDOW_MS);

  async serve(listener: GatewayListener, socket: Socket): Promise<void> {
    const source = `${socket.remoteAddress}:${socket.remotePort}`;
    const log = this.logger.log.child({ component: 'listener', listener: listener.protocol, source });
    const login = await listener.login(socket);
    if (!login) return;
    if ('refused' in login) {
      // Refused before any credential (plain text where TLS is required, a malformed start-up):
      // recorded, once a window per address with a count, so a flood writes few records.
      const reason = login.refused.replace(/^tollgate: /, '');
      log.info({ reason }, 'refused');
      const admitted = this.refusedRecords.admit(`${listener.protocol}:${socket.remoteAddress}`, Date.now());
      if (admitted.record)
        await this.audit
          .record({
            subject: 'anonymous',
            action: 'authenticate',
            target: `listener:${listener.protocol}`,
            decision: 'deny',
            reason,
            payload: { listener: listener.protocol, source, unrecordedRefusals: admitted.suppressed },
          })
          .catch(() => undefined);
      return;
    }
    if ('cancelKey' in login) {
      const sessionId = this.cancelKeys.get(login.cancelKey)?.sessionId;
      const interrupted =
        sessionId !== undefined &&
        this.interrupts.run(sessionId, {
          source: `${listener.protocol} listener ${source}`,
          reason: `CancelRequest from ${source}`,
        });
      // Never the key itself in the log.
      log.info({ sessionId, interrupted }, 'cancel request');
      return;
    }
    const refuse = (refusal: ListenerRefusal) => {
      log.info(
        {
          connection: login.connectionName,
          user: login.userName,
          kind: refusal.kind,
          reason: refusal.message,
        },
        'refused',
      );
      listener.refuse(login, refusal);
    };

    const address = socket.remoteAddress ?? 'unknown';
    const counted = `${address} ${login.userName ?? ''}`;
    const now = Date.now();
    const userBlockedMs = this.failures.blockedFor(counted, now);
    const blockedMs = Math.max(userBlockedMs, this.addressFailures.blockedFor(address, now));
    if (blockedMs > 0) {
      const as = userBlockedMs > 0 && login.userName !== undefined ? ` as "${login.userName}"` : '';
      const reason = `too many failed logins from ${address}${as}: try again in ${Math.ceil(blockedMs / 1000)} s`;
      const admitted = this.blockedRecords.admit(`${listener.protocol}:${address}`, Date.now());
      if (admitted.record) {
        await this.audit
          .record({
            subject: 'anonymous',
            action: 'authenticate',
            target: `connection:${login.connectionName}`,
            decision: 'deny',
            reason: `${reason} (${as ? MAX_LOGIN_FAILURES : MAX_LOGIN_FAILURES * 10} failures in ${LOGIN_FAILURE_WINDOW_MS / 1000} s)`,
            payload: {
              listener: listener.protocol,
              source,
              userName: login.userName ?? null,
              unrecordedRefusals: admitted.suppressed,
            },
          })
          .catch(() => undefined);
      }
      return refuse({ kind: 'too-many-failures', message: reason });
    }
    const failed = () => {
      this.failures.failed(counted, Date.now());
      this.addressFailures.failed(address, Date.now());
    };

    let principal: Principal;
    try {
      principal =
        login.credential.kind === 'secret'
          ? await this.verifier.verify(login.credential.secret)
          : await this.sshKeys.authenticate(login.credential.fingerprint);
    } catch (error) {
      if (error instanceof UnauthenticatedError) {
        failed();
        return refuse({ kind: 'bad-credential', message: error.message });
      }
      log.error({ err: error }, 'credential check failed');
      return refuse({ kind: 'unavailable', message: 'the credential could not be checked' });
    }
    const owner = await this.ownerName(principal);
    if (login.userName !== undefined && !namesCredentialOwner(login.userName, principal.subject, owner)) {
      failed();
      const reason = `the user name "${login.userName}" does not name the owner of this credential`;
      const recorded = await this.audit
        .record({
          subject: principal.subject,
          actorChain: principal.actorChain,
          action: 'authenticate',
          target: `connection:${login.connectionName}`,
          decision: 'deny',
          reason,
          payload: {
            listener: listener.protocol,
            userName: login.userName,
            tokenId: principal.tokenId,
            source,
          },
        })
        .then(
          () => true,
          () => false,
        );
      return refuse({
        kind: 'wrong-user',
        message: recorded ? reason : 'the refusal could not be recorded in the audit log',
      });
    }

    if (login.connectionName === '' && listener.serveWithoutConnection) {
      // The mariadb CLI's Ctrl+C: a KILL of the id one of this owner's sessions was greeted with.
      await listener.serveWithoutConnection(login, (id, what) => {
        const named = this.cancelKeys.get(`${listener.protocol}:${id}`);
        // The owner's own session, on a connection this credential may reach: a connection
        // credential narrowed to one connection does not stop its owner's statements on another.
        if (named?.subject !== principal.subject) return false;
        if (!scopesPermit(principal.scopes, 'connect', named.connection)) return false;
        const done =
          what === 'query'
            ? this.interrupts.run(named.sessionId, {
                source: `${listener.protocol} listener ${source}`,
                reason: `KILL QUERY from ${source}`,
              })
            : this.interrupts.end(
                named.sessionId,
                `killed by ${principal.subject} (KILL CONNECTION from ${source})`,
              );
        log.info({ sessionId: named.sessionId, what, done }, 'kill request');
        return done;
      });
      return;
    }

    const opened = await this.sessions.open(principal, {
      connectionName: login.connectionName,
      verb: 'connect',
      clientAddr: `${listener.protocol} listener ${source}`,
      speaks: listener.protocol,
      ...(login.greetedConnectionId ? { clientConnectionId: login.greetedConnectionId } : {}),
    });
    if (opened.kind === 'failed') return refuse(openFailureRefusal(opened.code, opened.message));

    const { call, sessionId } = opened;
    // The broker logs the session's open and close at info (with the agent and the reason); these
    // lines add the listener's view for debugging, and cost a write each per session otherwise.
    log.debug({ sessionId, connection: login.connectionName, agent: opened.agentName }, 'session open');
    if (listener.relay) {
      await listener.relay(login, frameStreamDuplex(call, inProcessCodec));
      call.end();
      log.debug({ sessionId }, 'session relay ended');
      return;
    }
    // The engine reads the client's start-up first, as from `tollgate connect`; the watch follows it
    // (and, for PostgreSQL, hears the key the engine gives the client, for its CancelRequests).
    let cancelKey: string | undefined;
    const nameSession = (key: string) => {
      if (cancelKey !== undefined) this.releaseCancelKey(cancelKey, sessionId);
      cancelKey = key;
      this.cancelKeys.set(key, { sessionId, subject: principal.subject, connection: login.connectionName });
    };
    const watch = listener.watch(nameSession);
    watch.fromClient(login.preamble);
    call.write(inProcessCodec.wrap({ kind: { $case: 'data', data: login.preamble } }));
    login.socket.setNoDelay(true);
    if (listener.engineGreetingLength) {
      const after = await skipEngineGreeting(call, (bytes) => listener.engineGreetingLength!(bytes));
      if (after === undefined) {
        call.destroy();
        return refuse({ kind: 'lost', message: 'the session ended before the server greeted' });
      }
      if (after.length > 0) {
        watch.toClient(after);
        login.socket.write(after);
      }
    }
    if (login.greetedConnectionId) nameSession(`${listener.protocol}:${login.greetedConnectionId}`);
    const relayed = await relaySocket(login.socket, call, inProcessCodec, watch).finally(() => {
      if (cancelKey !== undefined) this.releaseCancelKey(cancelKey, sessionId);
    });
    log.debug(
      { sessionId, outcome: relayed.kind, ...('message' in relayed ? { reason: relayed.message } : {}) },
      'session relay ended',
    );
  }

  private releaseCancelKey(key: string, sessionId: string): void {
    if (this.cancelKeys.get(key)?.sessionId === sessionId) this.cancelKeys.delete(key);
  }

  /** The owner's name in Tollgate (email or service account name); empty when it has none. */
  private async ownerName(principal: Principal): Promise<string> {
    const state = await this.subjects.current(principal.subject).catch(() => undefined);
    return listenerOwnerName(principal.subject, state);
  }
}

/**
 * Reads the session's first data frames until they hold the engine's greeting, which the listener
 * already said to the client in its own words. Resolves the bytes that followed it (for the client),
 * or undefined when the session ended first. The call is left paused for the relay.
 */
function skipEngineGreeting(
  call: Duplex,
  greetingLength: (bytes: Buffer) => number | undefined,
): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let bytes = Buffer.alloc(0);
    const done = (result: Buffer | undefined) => {
      call.pause();
      call.off('data', onData);
      call.off('end', onEnd);
      call.off('error', onEnd);
      resolve(result);
    };
    const onData = (message: ClientDown) => {
      const unwrapped = inProcessCodec.unwrap(message);
      if (!unwrapped || 'closeReason' in unwrapped) return;
      const { frame } = unwrapped;
      if (frame.kind?.$case !== 'data') return done(undefined);
      bytes = Buffer.concat([bytes, frame.kind.data]);
      const length = greetingLength(bytes);
      if (length !== undefined) done(bytes.subarray(length));
    };
    const onEnd = () => done(undefined);
    call.on('data', onData);
    call.once('end', onEnd);
    call.once('error', onEnd);
    call.resume();
  });
}

import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { acceptSshLogin, type SshLogin } from '@tollgate/protocol-ssh';
import type { SessionWatch } from '@tollgate/protocol-tcp';
import type { GatewayListener, ListenerLogin, ListenerRefusal } from './gateway-listener';

/** The SSH listener ends the client's protocol itself (relay): nothing follows the socket's bytes. */
const NO_WATCH: SessionWatch = {
  fromClient: () => undefined,
  toClient: () => undefined,
  ending: () => undefined,
};

/**
 * The gateway's SSH listener: the password is a Tollgate credential (an access token, an API key,
 * a `tollgate credentials create` credential), or the client signs with a public key registered to
 * a user (`tollgate ssh-keys add`); the user name selects the connection (`conn`, or
 * `user%conn` where `user` must name the credential's owner), and a refusal is an authentication
 * failure with the reason as a banner. Once the session opens, the client's channels are relayed
 * to the agent's SSH engine as `tollgate connect` relays them.
 */
export class SshGatewayListener implements GatewayListener {
  readonly protocol = 'ssh' as const;
  private readonly held = new WeakMap<ListenerLogin, SshLogin>();

  constructor(
    private readonly hostKey: string,
    private readonly loginTimeoutMs: number,
    /** Whether a public key is registered (SshKeysService); public keys are refused without it. */
    private readonly knowsPublicKey?: (fingerprint: string) => Promise<boolean>,
  ) {}

  async login(socket: Socket): Promise<ListenerLogin | undefined> {
    socket.setNoDelay(true);
    const outcome = await acceptSshLogin(socket, {
      hostKey: this.hostKey,
      timeoutMs: this.loginTimeoutMs,
      ...(this.knowsPublicKey ? { knowsPublicKey: this.knowsPublicKey } : {}),
    });
    if (outcome.kind === 'closed') return undefined;
    const login: ListenerLogin = {
      socket,
      credential:
        outcome.credential.kind === 'password'
          ? { kind: 'secret', secret: outcome.credential.password }
          : { kind: 'ssh-key', fingerprint: outcome.credential.fingerprint },
      userName: outcome.userName,
      connectionName: outcome.connectionName,
      preamble: Buffer.alloc(0),
    };
    this.held.set(login, outcome);
    return login;
  }

  refuse(login: ListenerLogin, refusal: ListenerRefusal): void {
    const held = this.held.get(login);
    if (held) held.refuse(refusal.message);
    else login.socket.destroy();
  }

  watch(): SessionWatch {
    return NO_WATCH;
  }

  relay(login: ListenerLogin, stream: Duplex): Promise<void> {
    const held = this.held.get(login);
    if (!held) {
      stream.destroy();
      return Promise.resolve();
    }
    return held.accept(stream);
  }
}

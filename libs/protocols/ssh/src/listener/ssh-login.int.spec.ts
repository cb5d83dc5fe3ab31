import { createServer, type AddressInfo, type Server } from 'node:net';
import { Client, utils, type ParsedKey } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../keys/ed25519-key-pair';
import { parseUserPublicKey } from '../keys/user-public-key';
import { acceptSshLogin, type SshLoginOutcome } from './ssh-login';

const hostKey = generateEd25519KeyPair().private;
const registered = generateEd25519KeyPair();
const stranger = generateEd25519KeyPair();
const registeredFingerprint = parseUserPublicKey(registered.public).fingerprint;

function privateKey(pem: string): ParsedKey {
  const parsed = utils.parseKey(pem);
  if (parsed instanceof Error || Array.isArray(parsed)) throw new Error('not one key');
  return parsed;
}

type AuthStep =
  | { type: 'publickey'; username: string; key: ParsedKey }
  | { type: 'password'; username: string; password: string };

/**
 * The gateway listener's login against ssh2's client: which logins it holds for the gateway to decide
 * (what `acceptSshLogin` resolves), and what the client is told.
 */
describe('acceptSshLogin with public keys', () => {
  let server: Server;
  let port: number;
  const outcomes: SshLoginOutcome[] = [];

  beforeAll(async () => {
    server = createServer((socket) => {
      void acceptSshLogin(socket, {
        hostKey,
        timeoutMs: 10_000,
        knowsPublicKey: (fingerprint) => Promise.resolve(fingerprint === registeredFingerprint),
      }).then((outcome) => {
        outcomes.push(outcome);
        if (outcome.kind === 'login') outcome.refuse('held for the test');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Resolves with what the client saw: the error message after its methods ran out. */
  const attempt = (steps: AuthStep[]) =>
    new Promise<string>((resolve) => {
      const before = outcomes.length;
      const client = new Client();
      client.once('error', (error: Error) => {
        client.end();
        // The login resolves (or the socket closes) just after the client's error.
        setTimeout(
          () => resolve(`${error.message} | outcomes: ${JSON.stringify(outcomes.slice(before))}`),
          200,
        );
      });
      client.once('ready', () => {
        client.end();
        resolve('ready');
      });
      client.connect({
        host: '127.0.0.1',
        port,
        username: 'ssh-app',
        authHandler: steps,
        readyTimeout: 10_000,
      });
    });

  it('holds a login made with a registered key that signed, naming its fingerprint', async () => {
    const seen = await attempt([
      { type: 'publickey', username: 'ssh-app', key: privateKey(registered.private) },
    ]);
    expect(seen).toContain(`"credential":{"kind":"publickey","fingerprint":"${registeredFingerprint}"`);
  });

  it('refuses a signature made by another key than the registered one it names, and holds nothing', async () => {
    // The stranger's private key, presenting the registered key's public blob: a forged signature.
    const forged = privateKey(stranger.private);
    const blob = parseUserPublicKey(registered.public).blob;
    forged.getPublicSSH = () => blob;
    const seen = await attempt([{ type: 'publickey', username: 'ssh-app', key: forged }]);
    expect(seen).toMatch(/^All configured authentication methods failed/);
    expect(seen).not.toContain('"kind":"login"');
  });

  it('refuses an unregistered key and lets the client go on to a password', async () => {
    const seen = await attempt([
      { type: 'publickey', username: 'ssh-app', key: privateKey(stranger.private) },
      { type: 'password', username: 'ssh-app', password: 'a-token' },
    ]);
    expect(seen).toContain('"credential":{"kind":"password","password":"a-token"}');
  });
});

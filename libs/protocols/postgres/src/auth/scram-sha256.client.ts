import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL uses it: the user name in
 * the SCRAM messages is empty (the server takes it from the start-up packet) and channel binding is
 * not used ("n,,"). Pure computation: the caller moves the messages.
 */
export class ScramSha256Client {
  private readonly clientNonce: string;
  private readonly clientFirstBare: string;
  private expectedServerSignature: Buffer | undefined;

  constructor(
    private readonly password: string,
    nonce: string = randomBytes(18).toString('base64'),
  ) {
    this.clientNonce = nonce;
    this.clientFirstBare = `n=,r=${this.clientNonce}`;
  }

  /** Body of SASLInitialResponse. */
  clientFirstMessage(): Buffer {
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
  }

  /** Answers AuthenticationSASLContinue; returns the body of SASLResponse. */
  clientFinalMessage(serverFirst: Buffer): Buffer {
    const serverFirstText = serverFirst.toString('utf8');
    const attributes = parseAttributes(serverFirstText);
    const nonce = attributes.get('r');
    const salt = attributes.get('s');
    const iterations = Number(attributes.get('i'));
    if (!nonce || !nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) {
      throw new ScramError('the server nonce does not extend the client nonce');
    }
    if (!salt || !Number.isInteger(iterations) || iterations < 1) {
      throw new ScramError('the server-first message lacks a salt or iteration count');
    }
    const { clientKey, storedKey, serverKey } = scramKeys(this.password, salt, iterations);
    const clientFinalWithoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirstText},${clientFinalWithoutProof}`;
    const clientSignature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++)
      proof[i] = (clientKey[i] as number) ^ (clientSignature[i] as number);
    this.expectedServerSignature = hmac(serverKey, authMessage);
    return Buffer.from(`${clientFinalWithoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  /** Checks AuthenticationSASLFinal: the server proves it knows the password too. */
  verifyServerFinal(serverFinal: Buffer): void {
    const attributes = parseAttributes(serverFinal.toString('utf8'));
    const error = attributes.get('e');
    if (error) throw new ScramError(`the server rejected the authentication: ${error}`);
    const signature = Buffer.from(attributes.get('v') ?? '', 'base64');
    const expected = this.expectedServerSignature;
    if (!expected || signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw new ScramError('the server signature does not match: the target is not who it claims to be');
    }
  }
}

export class ScramError extends Error {
  constructor(message: string) {
    super(`SCRAM-SHA-256: ${message}`);
    this.name = 'ScramError';
  }
}

interface ScramKeys {
  readonly clientKey: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/** Most (password, salt, iterations) whose keys are kept; a full cache starts over. */
const MAX_CACHED_KEYS = 256;
const cachedKeys = new Map<string, ScramKeys>();

/**
 * ClientKey, StoredKey and ServerKey for a password and the server's salt and iteration count. The
 * salted password costs `iterations` HMACs (4096 by default: most of a session open's CPU at the
 * client), and a server keeps one salt per role until its password changes, so the keys are kept,
 * as PgBouncer keeps them, by a hash of all three: a changed password or salt derives afresh.
 */
function scramKeys(password: string, salt: string, iterations: number): ScramKeys {
  const key = createHash('sha256').update(`${iterations}\0${salt}\0${password}`, 'utf8').digest('base64');
  const cached = cachedKeys.get(key);
  if (cached) return cached;
  const saltedPassword = pbkdf2Sync(
    password.normalize('NFKC'),
    Buffer.from(salt, 'base64'),
    iterations,
    32,
    'sha256',
  );
  const clientKey = hmac(saltedPassword, 'Client Key');
  const keys = {
    clientKey,
    storedKey: createHash('sha256').update(clientKey).digest(),
    serverKey: hmac(saltedPassword, 'Server Key'),
  };
  if (cachedKeys.size >= MAX_CACHED_KEYS) cachedKeys.clear();
  cachedKeys.set(key, keys);
  return keys;
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function parseAttributes(message: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) attributes.set(part.slice(0, 1), part.slice(2));
  }
  return attributes;
}

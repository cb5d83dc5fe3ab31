/**
 * Who is calling, as established from a verified token. Every authorization decision and audit
 * record is made from this.
 */
export interface Principal {
  /** `user:<user id>` for people, `sa:<name>` for service accounts. */
  readonly subject: string;
  /** Human-readable name for logs and the console (email, or the service account's name). */
  readonly displayName: string;
  /**
   * A person's e-mail as the store has it from their IdP, read at verification; what a policy's
   * `user:<e-mail>` bindings match. Never derived from the display name, which an IdP's user may
   * set to anything (someone else's address included).
   */
  readonly email?: string;
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
  /**
   * The parties acting on the subject's behalf (RFC 8693 `act`), nearest first: for a token that a
   * child process obtained by token exchange, `actorChain[0]` is the party that asked for it.
   * Empty for a token used by its own subject.
   */
  readonly actorChain: readonly Actor[];
  /** The token's `jti`; revocation and audit refer to it. */
  readonly tokenId: string;
  readonly expiresAt: Date;
}

export interface Actor {
  readonly subject: string;
}

/**
 * Whether the caller holds its subject's own credential (a login or client-credentials token), not
 * a delegated token nor an API key. Only such a caller manages its subject's credentials (API keys,
 * SSH keys): a narrowed credential handed to a tool or a pipeline cannot create, or revoke, its
 * owner's other credentials.
 */
export function holdsOwnCredential(principal: Principal): boolean {
  return principal.actorChain.length === 0 && !principal.tokenId.startsWith('apikey:');
}

/** Who acts: built by the gateway from a verified token (its Principal). */
export interface SubjectContext {
  /** `user:<id>` or `sa:<name>`. */
  readonly subject: string;
  /** The user's e-mail, so that `user:alice@example.com` in a policy matches too. */
  readonly email?: string;
  readonly groups: readonly string[];
  /** Parties acting on the subject's behalf (RFC 8693 `act`), nearest first; empty when none. */
  readonly actorChain: readonly { readonly subject: string }[];
}

/** The connection acted on, as registered in the gateway. */
export interface ConnectionContext {
  readonly name: string;
  readonly protocol: string;
  readonly tags: Readonly<Record<string, string>>;
}

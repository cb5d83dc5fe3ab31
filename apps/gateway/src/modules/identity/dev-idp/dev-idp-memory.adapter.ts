/** One stored oidc-provider model instance (session, interaction, code, grant, token ...). */
interface Entry {
  payload: Record<string, unknown>;
  /** Epoch milliseconds; undefined when oidc-provider gave no lifetime. */
  readonly expiresAt?: number;
}

/**
 * oidc-provider's storage for the development IdP, in this process's memory: the dev IdP's whole
 * state ends with the process by design (its signing key is new at every start). Given explicitly
 * because oidc-provider, left to its own in-memory default, prints a warning that it must be
 * replaced, which is the first line a quickstart user would see. One store per dev IdP; `adapter`
 * in the provider's configuration takes the returned factory (called with a model name).
 */
export function devIdpMemoryAdapter(): (model: string) => DevIdpModelStore {
  const entries = new Map<string, Entry>();
  return (model) => new DevIdpModelStore(model, entries);
}

/** oidc-provider's Adapter contract for one model. */
export class DevIdpModelStore {
  constructor(
    private readonly model: string,
    private readonly entries: Map<string, Entry>,
  ) {}

  async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void> {
    this.sweep();
    this.entries.set(this.key(id), {
      payload: { ...payload },
      ...(typeof expiresIn === 'number' ? { expiresAt: Date.now() + expiresIn * 1000 } : {}),
    });
  }

  async find(id: string): Promise<Record<string, unknown> | undefined> {
    return this.live(this.key(id))?.payload;
  }

  async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
    return this.findWhere((payload) => payload['uid'] === uid);
  }

  async findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined> {
    return this.findWhere((payload) => payload['userCode'] === userCode);
  }

  async consume(id: string): Promise<void> {
    const entry = this.live(this.key(id));
    if (entry) entry.payload = { ...entry.payload, consumed: Math.floor(Date.now() / 1000) };
  }

  async destroy(id: string): Promise<void> {
    this.entries.delete(this.key(id));
  }

  /** Removes every token and code of the grant, whatever its model (as the grant is revoked). */
  async revokeByGrantId(grantId: string): Promise<void> {
    for (const [key, entry] of this.entries) {
      if (entry.payload['grantId'] === grantId) this.entries.delete(key);
    }
  }

  private key(id: string): string {
    return `${this.model}:${id}`;
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private findWhere(
    test: (payload: Record<string, unknown>) => boolean,
  ): Record<string, unknown> | undefined {
    const prefix = `${this.model}:`;
    for (const key of this.entries.keys()) {
      if (!key.startsWith(prefix)) continue;
      const entry = this.live(key);
      if (entry && test(entry.payload)) return entry.payload;
    }
    return undefined;
  }

  /** Expired entries go when anything is stored, so a long-running quickstart does not grow. */
  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.entries.delete(key);
    }
  }
}

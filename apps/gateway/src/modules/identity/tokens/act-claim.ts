import type { Actor } from '../principal';

/** RFC 8693 §4.1 `act`: the current actor outermost, earlier actors nested inside. */
export interface ActClaim {
  readonly sub: string;
  readonly act?: ActClaim;
}

/** Nearest actor first (Principal.actorChain order) → nested claim. */
export function actClaimFromChain(chain: readonly Actor[]): ActClaim | undefined {
  let claim: ActClaim | undefined;
  for (let i = chain.length - 1; i >= 0; i--) {
    claim = claim ? { sub: chain[i].subject, act: claim } : { sub: chain[i].subject };
  }
  return claim;
}

export function chainFromActClaim(claim: unknown, limit = 16): Actor[] {
  const chain: Actor[] = [];
  let current = claim;
  while (current !== undefined && chain.length < limit) {
    if (typeof current !== 'object' || current === null) throw new Error('malformed act claim');
    const { sub, act } = current as { sub?: unknown; act?: unknown };
    if (typeof sub !== 'string' || sub === '') throw new Error('malformed act claim');
    chain.push({ subject: sub });
    current = act;
  }
  if (current !== undefined) throw new Error('act claim nested too deeply');
  return chain;
}

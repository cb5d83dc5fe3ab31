import { describe, expect, it } from 'vitest';
import { actClaimFromChain, chainFromActClaim } from './act-claim';

describe('act claim (RFC 8693 §4.1)', () => {
  it('nests earlier actors inside the current one and reads them back nearest first', () => {
    const chain = [{ subject: 'sa:step-2' }, { subject: 'sa:step-1' }];
    const claim = actClaimFromChain(chain);
    expect(claim).toEqual({ sub: 'sa:step-2', act: { sub: 'sa:step-1' } });
    expect(chainFromActClaim(claim)).toEqual(chain);
    expect(actClaimFromChain([])).toBeUndefined();
    expect(chainFromActClaim(undefined)).toEqual([]);
  });

  it('rejects malformed or absurdly deep claims', () => {
    expect(() => chainFromActClaim({ act: { sub: 'x' } })).toThrow(/malformed/);
    expect(() => chainFromActClaim('sa:x')).toThrow(/malformed/);
    let deep: unknown = { sub: 'x' };
    for (let i = 0; i < 20; i++) deep = { sub: `a${i}`, act: deep };
    expect(() => chainFromActClaim(deep)).toThrow(/too deeply/);
  });
});

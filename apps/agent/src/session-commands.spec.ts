import { describe, expect, it } from 'vitest';
import { scopesPermitForward } from './session-commands';

describe('scopesPermitForward', () => {
  it('needs the forward scope, whole or narrowed to the connection', () => {
    expect(scopesPermitForward(['connect', 'exec', 'forward'], 'web-1')).toBe(true);
    expect(scopesPermitForward(['forward:web-*'], 'web-1')).toBe(true);
    expect(scopesPermitForward(['forward:db-*'], 'web-1')).toBe(false);
    expect(scopesPermitForward(['connect:web-1'], 'web-1')).toBe(false);
    expect(scopesPermitForward([], 'web-1')).toBe(false);
    expect(scopesPermitForward(['forward:web.1'], 'webx1')).toBe(false);
  });
});

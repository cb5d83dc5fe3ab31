import { createContext, useContext } from 'react';
import type { ApiClient } from './api/api-client';
import type { CallerAccess, GatewayInfo, Me, Verb } from './api/types';
import type { AuthSession } from './auth/auth-session';

export interface ConsoleContextValue {
  readonly api: ApiClient;
  readonly auth: AuthSession;
  readonly me: Me;
  readonly access: CallerAccess;
  readonly gateway: GatewayInfo;
  /** Whether the signed-in caller holds a gateway verb (admin, audit:read, review). */
  can: (verb: Verb) => boolean;
  /** Reads the caller's access again (after a policy change or an approved request). */
  reloadAccess: () => Promise<void>;
  /** A person's or service account's name for a subject (`user:<id>` shows as the e-mail when known). */
  nameOf: (subject: string) => string;
}

export const ConsoleContext = createContext<ConsoleContextValue | undefined>(undefined);

export function useConsole(): ConsoleContextValue {
  const value = useContext(ConsoleContext);
  if (!value) throw new Error('useConsole outside the signed-in console');
  return value;
}

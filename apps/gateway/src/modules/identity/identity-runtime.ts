import type { INestApplication } from '@nestjs/common';
import type { Logger } from 'pino';
import { startDevIdp, type DevIdp } from './dev-idp/dev-idp.server';
import type { IdentityOptions } from './identity-options';
import { OidcRelyingPartyService } from './oidc/oidc-relying-party.service';

export interface IdentityRuntime {
  /** The development IdP, when TOLLGATE_DEV_IDP is on. */
  readonly devIdp?: DevIdp;
  close(): Promise<void>;
}

/**
 * Finishes identity set-up once the gateway listens (its callback URL is known only then): starts
 * the development IdP when configured and points the relying party at it.
 */
export async function startIdentityRuntime(
  app: INestApplication,
  options: IdentityOptions & { readonly devIdpPort: number },
  httpUrl: string,
  logger: Logger,
): Promise<IdentityRuntime> {
  const rp = app.get(OidcRelyingPartyService);
  rp.configure(httpUrl);
  if (!options.devIdp) return { close: async () => undefined };
  const devIdp = await startDevIdp({
    // Its passwords are public: never reachable from another machine, whatever the gateway binds.
    host: '127.0.0.1',
    port: options.devIdpPort,
    redirectUri: rp.callbackUrl(),
    logger: logger.child({ component: 'dev-idp' }),
  });
  rp.configure(httpUrl, {
    issuer: devIdp.issuer,
    clientId: devIdp.clientId,
    clientSecret: devIdp.clientSecret,
  });
  return { devIdp, close: () => devIdp.close() };
}

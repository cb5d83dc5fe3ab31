import type { INestApplication } from '@nestjs/common';
import type { Logger } from 'pino';
import { startDevIdp, type DevIdp } from './dev-idp/dev-idp.server';
import { startDevSamlIdp, type DevSamlIdp, type StartedDevSamlIdp } from './dev-idp/dev-saml-idp.server';
import type { IdentityOptions } from './identity-options';
import { OidcRelyingPartyService } from './oidc/oidc-relying-party.service';
import { SamlServiceProviderService } from './saml/saml-service-provider.service';
import { selfSignedRsa } from './saml/self-signed';

export interface IdentityRuntime {
  /** The development IdP, when TOLLGATE_DEV_IDP is on. */
  readonly devIdp?: DevIdp;
  /** The development SAML IdP, when TOLLGATE_DEV_SAML is on. */
  readonly devSamlIdp?: DevSamlIdp;
  close(): Promise<void>;
}

/**
 * Finishes identity set-up once the gateway listens (its callback URLs are known only then): starts
 * the development IdPs when configured and points the OIDC relying party and the SAML service
 * provider at them (or at the configured IdPs).
 */
export async function startIdentityRuntime(
  app: INestApplication,
  options: IdentityOptions & { readonly devIdpPort: number; readonly devSamlPort: number },
  httpUrl: string,
  logger: Logger,
): Promise<IdentityRuntime> {
  const rp = app.get(OidcRelyingPartyService);
  const sp = app.get(SamlServiceProviderService);
  rp.configure(httpUrl);
  const started: { close(): Promise<void> }[] = [];
  const close = async () => {
    sp.close();
    await Promise.all(started.map((s) => s.close()));
  };
  try {
    let devIdp: DevIdp | undefined;
    if (options.devIdp) {
      devIdp = await startDevIdp({
        // Its passwords are public: never reachable from another machine, whatever the gateway binds.
        host: '127.0.0.1',
        port: options.devIdpPort,
        redirectUri: rp.callbackUrl(),
        logger: logger.child({ component: 'dev-idp' }),
      });
      started.push(devIdp);
      rp.configure(httpUrl, {
        issuer: devIdp.issuer,
        clientId: devIdp.clientId,
        clientSecret: devIdp.clientSecret,
      });
    }
    let devSamlIdp: StartedDevSamlIdp | undefined;
    if (options.devSaml) {
      devSamlIdp = await startDevSamlIdp({
        host: '127.0.0.1',
        port: options.devSamlPort,
        logger: logger.child({ component: 'dev-saml-idp' }),
      });
      started.push(devSamlIdp);
      // Without a configured SP key, a throw-away one signs the AuthnRequests and decrypts the assertions.
      await sp.configure(httpUrl, {
        metadataXml: devSamlIdp.metadataXml,
        spKeys: await selfSignedRsa('tollgate-dev-sp'),
      });
      devSamlIdp.trustServiceProvider(sp.metadataXml());
    } else {
      await sp.configure(httpUrl);
    }
    return { devIdp, devSamlIdp, close };
  } catch (error) {
    await close();
    throw error;
  }
}

import { readFile } from 'node:fs/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { generateServiceProviderMetadata, SAML } from '@node-saml/node-saml';
import { IdentityOptionsToken, type IdentityOptions } from '../identity-options';
import { parseIdpMetadata, SamlMetadataError, type SamlIdpMetadata } from './saml-idp-metadata';
import type { SamlAttributeNames } from './saml-identity';
import { verifySamlResponse, type SamlTrust, type VerifiedSamlResponse } from './saml-response.verifier';
import type { PemKeyPair } from './self-signed';

/** The SAML settings in effect once the gateway knows its public URL and has read the IdP metadata. */
interface SamlRuntime {
  readonly idp: SamlIdpMetadata;
  readonly trust: SamlTrust;
  readonly signing?: PemKeyPair;
  readonly decryption?: PemKeyPair;
}

/** SAML start-up problems name the setting to fix, like configuration errors. */
export class SamlSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SamlSetupError';
  }
}

const METADATA_REFRESH_MS = 60 * 60_000;

/**
 * The gateway as a SAML 2.0 service provider: AuthnRequests out by the HTTP-Redirect binding,
 * responses back by HTTP-POST to `<public URL>/auth/saml/acs`, its own metadata at
 * `<public URL>/auth/saml/metadata`. The IdP comes from TOLLGATE_SAML_IDP_METADATA (re-read every
 * hour when it is a URL, so a certificate the IdP adds is trusted without a restart) or, in the
 * quickstart, from the development SAML IdP.
 */
@Injectable()
export class SamlServiceProviderService {
  private readonly logger = new Logger('saml');
  private runtime: SamlRuntime | undefined;
  private refresh: NodeJS.Timeout | undefined;

  constructor(@Inject(IdentityOptionsToken) private readonly options: IdentityOptions) {}

  get enabled(): boolean {
    return this.runtime !== undefined;
  }

  get allowIdpInitiated(): boolean {
    return this.options.samlAllowIdpInitiated;
  }

  get attributeNames(): SamlAttributeNames {
    return {
      groups: this.options.samlGroupsAttribute,
      email: this.options.samlEmailAttribute,
      displayName: this.options.samlDisplayNameAttribute,
    };
  }

  get idpEntityId(): string {
    return this.require().idp.entityId;
  }

  /** The origin of the IdP's SSO endpoint (where gateway pages send the browser on). */
  get idpOrigin(): string {
    return new URL(this.require().idp.ssoRedirectUrl).origin;
  }

  get acsUrl(): string {
    return this.require().trust.acsUrl;
  }

  /**
   * Called once the gateway listens (its public URL is known then). `dev` is the development IdP's
   * metadata and, when no SP key is configured, a throw-away key pair for signing and decryption.
   */
  async configure(baseUrl: string, dev?: { metadataXml: string; spKeys: PemKeyPair }): Promise<void> {
    if (!this.options.samlIdpMetadata && !dev) return;
    const base = (this.options.publicUrl ?? baseUrl).replace(/\/+$/, '');
    const signing = (await this.keyPair(this.options.samlSpKey, this.options.samlSpCert)) ?? dev?.spKeys;
    const decryption =
      (await this.keyPair(this.options.samlDecryptionKey, this.options.samlDecryptionCert)) ?? dev?.spKeys;
    const extraCerts = await Promise.all(
      (this.options.samlIdpCerts ?? []).map((file) => readFile(file, 'utf8')),
    );
    const load = async (): Promise<SamlRuntime> => {
      const idp = dev
        ? parseIdpMetadata(dev.metadataXml)
        : await this.loadMetadata(this.options.samlIdpMetadata!);
      if (idp.wantAuthnRequestsSigned && !signing) {
        throw new SamlSetupError(
          'TOLLGATE_SAML_SP_KEY: the identity provider wants signed AuthnRequests; set TOLLGATE_SAML_SP_KEY and TOLLGATE_SAML_SP_CERT',
        );
      }
      return {
        idp,
        signing,
        decryption,
        trust: {
          idpEntityId: idp.entityId,
          idpCerts: [...idp.signingCerts, ...extraCerts],
          spEntityId: this.options.samlSpEntityId ?? `${base}/auth/saml/metadata`,
          acsUrl: `${base}/auth/saml/acs`,
          decryptionKey: decryption?.key,
          clockSkewMs: this.options.samlClockSkewSeconds * 1000,
          maxAssertionAgeMs: this.options.samlMaxAssertionAgeSeconds * 1000,
        },
      };
    };
    this.runtime = await load();
    this.logger.log(
      `SAML identity provider ${this.runtime.idp.entityId} (${this.runtime.trust.idpCerts.length} signing certificate(s))`,
    );
    if (!dev && /^https?:\/\//.test(this.options.samlIdpMetadata ?? '')) {
      this.refresh = setInterval(() => {
        load()
          .then((next) => (this.runtime = next))
          .catch((error: unknown) =>
            this.logger.warn(
              `re-reading the SAML metadata failed; keeping the last good copy: ${String(error)}`,
            ),
          );
      }, METADATA_REFRESH_MS);
      this.refresh.unref();
    }
  }

  close(): void {
    clearInterval(this.refresh);
  }

  /** The SP metadata to register at the IdP. */
  metadataXml(): string {
    const { trust, signing, decryption } = this.require();
    return generateServiceProviderMetadata({
      issuer: trust.spEntityId,
      callbackUrl: trust.acsUrl,
      identifierFormat: null,
      wantAssertionsSigned: true,
      signatureAlgorithm: 'sha256',
      ...(signing ? { privateKey: signing.key, publicCerts: signing.cert } : {}),
      ...(decryption ? { decryptionPvk: decryption.key, decryptionCert: decryption.cert } : {}),
    });
  }

  /** The IdP's SSO URL with a deflated (and, with an SP key, signed) AuthnRequest and RelayState. */
  async authnRequestUrl(requestId: string, relayState: string): Promise<string> {
    const { idp, trust, signing } = this.require();
    const sp = new SAML({
      entryPoint: idp.ssoRedirectUrl,
      issuer: trust.spEntityId,
      callbackUrl: trust.acsUrl,
      idpCert: [...trust.idpCerts],
      identifierFormat: null,
      // node-saml would otherwise ask for password authentication, which refuses MFA and passkeys.
      disableRequestedAuthnContext: true,
      generateUniqueId: () => requestId,
      signatureAlgorithm: 'sha256',
      ...(signing ? { privateKey: signing.key } : {}),
    });
    return sp.getAuthorizeUrlAsync(relayState, undefined, {});
  }

  verify(samlResponse: string, requestId: string | undefined, now?: Date): Promise<VerifiedSamlResponse> {
    return verifySamlResponse(samlResponse, this.require().trust, requestId, now);
  }

  private require(): SamlRuntime {
    if (!this.runtime) throw new Error('SAML is not configured');
    return this.runtime;
  }

  private async loadMetadata(source: string): Promise<SamlIdpMetadata> {
    let xml: string;
    try {
      if (/^https?:\/\//.test(source)) {
        const response = await fetch(source, { signal: AbortSignal.timeout(10_000) });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        xml = await response.text();
      } else {
        xml = await readFile(source, 'utf8');
      }
    } catch (error) {
      throw new SamlSetupError(
        `TOLLGATE_SAML_IDP_METADATA: cannot read ${source} (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    try {
      return parseIdpMetadata(xml);
    } catch (error) {
      if (error instanceof SamlMetadataError) {
        throw new SamlSetupError(
          `TOLLGATE_SAML_IDP_METADATA: ${source} is not usable IdP metadata: ${error.message}`,
        );
      }
      throw error;
    }
  }

  private async keyPair(keyFile?: string, certFile?: string): Promise<PemKeyPair | undefined> {
    if (!keyFile || !certFile) return undefined;
    return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8') };
  }
}

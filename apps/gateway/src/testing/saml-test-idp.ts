import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import type { ServiceProviderInstance } from 'samlify';
import { SamlIdpEntity, type SamlUser } from '../modules/identity/dev-idp/saml-response-builder';
import { selfSignedRsa, type PemKeyPair } from '../modules/identity/saml/self-signed';

/**
 * A SAML IdP for tests (the dev IdP's samlify entity with a key the test holds), configured into a
 * gateway the way production is: a metadata file and SP key files in TOLLGATE_SAML_* settings.
 */
export interface TestSamlIdp {
  readonly entity: SamlIdpEntity;
  readonly spKeys: PemKeyPair;
  readonly dir: string;
  /** The gateway settings that trust this IdP. */
  readonly env: Record<string, string>;
  /** The gateway as this IdP sees it, from the gateway's published SP metadata. */
  serviceProvider(gatewayUrl: string): Promise<ServiceProviderInstance>;
  /** Another IdP entity with the same entity ID but its own key (a forger, or a rotated key). */
  impostor(keys?: PemKeyPair): Promise<SamlIdpEntity>;
}

export const TEST_SAML_IDP = 'https://idp.tollgate.test/saml/metadata';

export async function createTestSamlIdp(
  dir: string,
  options: { encrypt?: boolean } = {},
): Promise<TestSamlIdp> {
  const keys = await selfSignedRsa('test-saml-idp');
  const spKeys = await selfSignedRsa('test-saml-sp');
  const entity = new SamlIdpEntity(TEST_SAML_IDP, 'https://idp.tollgate.test/saml/sso', keys, options);
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const env = {
    TOLLGATE_SAML_IDP_METADATA: write('idp-metadata.xml', entity.metadataXml()),
    TOLLGATE_SAML_SP_KEY: write('sp.key', spKeys.key),
    TOLLGATE_SAML_SP_CERT: write('sp.crt', spKeys.cert),
    TOLLGATE_SAML_DECRYPTION_KEY: write('sp-dec.key', spKeys.key),
    TOLLGATE_SAML_DECRYPTION_CERT: write('sp-dec.crt', spKeys.cert),
  };
  return {
    entity,
    spKeys,
    dir,
    env,
    async serviceProvider(gatewayUrl) {
      const response = await fetch(`${gatewayUrl}/auth/saml/metadata`);
      if (response.status !== 200) throw new Error(`SP metadata: HTTP ${response.status}`);
      return SamlIdpEntity.serviceProvider(await response.text());
    },
    async impostor(other) {
      return new SamlIdpEntity(
        TEST_SAML_IDP,
        'https://idp.tollgate.test/saml/sso',
        other ?? (await selfSignedRsa('impostor')),
        options,
      );
    },
  };
}

export const samlUser = (name: string, groups: string[]): SamlUser => ({
  nameId: `${name}@tollgate.test`,
  email: `${name}@tollgate.test`,
  name: `${name[0].toUpperCase()}${name.slice(1)} Tester`,
  groups,
});

/** A login as `tollgate login --idp saml` starts it: PKCE, loopback redirect, then the IdP's URL. */
export interface StartedSamlLogin {
  readonly relayState: string;
  readonly requestId: string;
  readonly redirectUri: string;
  readonly state: string;
  readonly verifier: string;
  /** The AuthnRequest as the IdP receives it (the redirect's query). */
  readonly idpUrl: URL;
}

export async function startSamlLogin(gatewayUrl: string): Promise<StartedSamlLogin> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('hex');
  const redirectUri = 'http://127.0.0.1:9/callback';
  const response = await fetch(
    `${gatewayUrl}/auth/login?${new URLSearchParams({
      idp: 'saml',
      redirect_uri: redirectUri,
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString()}`,
    { redirect: 'manual' },
  );
  const location = response.headers.get('location');
  if (response.status !== 302 || !location) throw new Error(`/auth/login answered ${response.status}`);
  const idpUrl = new URL(location);
  const request = inflateRawSync(
    Buffer.from(idpUrl.searchParams.get('SAMLRequest') ?? '', 'base64'),
  ).toString();
  const requestId = /\bID="([^"]+)"/.exec(request)?.[1];
  if (!requestId) throw new Error(`no AuthnRequest ID in ${request}`);
  return {
    relayState: idpUrl.searchParams.get('RelayState') ?? '',
    requestId,
    redirectUri,
    state,
    verifier,
    idpUrl,
  };
}

/** The browser's HTTP-POST to the ACS; the gateway's answer, not followed. */
export async function postToAcs(
  gatewayUrl: string,
  samlResponse: string,
  relayState?: string,
): Promise<{ status: number; location?: URL; body: string }> {
  const response = await fetch(`${gatewayUrl}/auth/saml/acs`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      SAMLResponse: samlResponse,
      ...(relayState ? { RelayState: relayState } : {}),
    }).toString(),
  });
  const location = response.headers.get('location');
  return {
    status: response.status,
    location: location ? new URL(location) : undefined,
    body: await response.text(),
  };
}

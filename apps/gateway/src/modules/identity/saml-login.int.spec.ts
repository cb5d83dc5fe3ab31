import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceProviderInstance } from 'samlify';
import { makeTempDir, postTokenEndpoint } from '@tollgate/testing';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';
import {
  createTestSamlIdp,
  postToAcs,
  samlUser,
  startSamlLogin,
  TEST_SAML_IDP,
  type StartedSamlLogin,
  type TestSamlIdp,
} from '../../testing/saml-test-idp';
import { SamlIdpEntity, type ResponseValues, type SamlUser } from './dev-idp/saml-response-builder';
import { selfSignedRsa, type PemKeyPair } from './saml/self-signed';

interface AuditItem {
  subject: string;
  action: string;
  decision: string;
  reason: string;
  target: string | null;
  payload: { method?: string; check?: string; idp?: string } | null;
}

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as {
    sub: string;
    name: string;
    groups: string[];
  };

const xml = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/**
 * SAML 2.0 sign-in with the gateway as the service provider, configured as in production (IdP
 * metadata file, SP signing and decryption keys), against an IdP built on samlify that signs with
 * a key the test holds. Every attack of the issue is its own test against an otherwise genuine
 * response, and each must be refused with a message for the user and a `login` deny audit record.
 */
describe('SAML sign-in (gateway as SP, samlify IdP, node-saml/xml-crypto verification)', () => {
  const dir = makeTempDir('tollgate-saml-');
  let idp: TestSamlIdp;
  let next: PemKeyPair;
  let gw: TestGateway;
  let sp: ServiceProviderInstance;
  const ada = samlUser('ada', ['tollgate-admins']);
  const dev = samlUser('devi', ['developers']);

  const audit = async () =>
    ((await gw.request('GET', '/api/v1/audit?action=login&limit=1000')).body as { items: AuditItem[] }).items;

  /** An SP-initiated login answered by `entity` with `values` changed; the ACS's answer. */
  const login = async (
    user: SamlUser,
    values: Partial<ResponseValues> = {},
    options: { entity?: SamlIdpEntity; sp?: ServiceProviderInstance; mangle?: (xml: string) => string } = {},
  ) => {
    const started = await startSamlLogin(gw.url);
    let response = await (options.entity ?? idp.entity).response(options.sp ?? sp, user, {
      InResponseTo: started.requestId,
      ...values,
    });
    if (options.mangle) response = b64(options.mangle(xml(response)));
    return { started, response, result: await postToAcs(gw.url, response, started.relayState) };
  };

  const redeem = async (started: StartedSamlLogin, location: URL | undefined) => {
    expect(location?.origin + location!.pathname).toBe(started.redirectUri);
    expect(location!.searchParams.get('state')).toBe(started.state);
    const code = location!.searchParams.get('code');
    expect(code, location!.searchParams.get('error_description') ?? '').toBeTruthy();
    const tokens = await postTokenEndpoint(gw.url, {
      grant_type: 'authorization_code',
      code: code!,
      code_verifier: started.verifier,
      redirect_uri: started.redirectUri,
    });
    expect(tokens.status).toBe(200);
    return tokens.body as { access_token: string; refresh_token: string };
  };

  /** Refused: the CLI's loopback gets access_denied with the reason, and the refusal is audited. */
  const expectRefused = async (
    outcome: { status: number; location?: URL; body: string },
    check: string,
    message: RegExp,
  ) => {
    const shown =
      outcome.location?.searchParams.get('error_description') ??
      /<p role="alert">([^<]*)<\/p>/.exec(outcome.body)?.[1] ??
      outcome.body;
    expect(shown).toMatch(message);
    if (outcome.location) expect(outcome.location.searchParams.get('error')).toBe('access_denied');
    else expect(outcome.status).toBe(403);
    const record = (await audit()).at(-1);
    expect(record).toMatchObject({ action: 'login', decision: 'deny', payload: { method: 'saml', check } });
    expect(record!.reason).toMatch(message);
  };

  beforeAll(async () => {
    idp = await createTestSamlIdp(dir.path);
    next = await selfSignedRsa('test-saml-idp-next');
    const nextCert = `${dir.path}/idp-next.crt`;
    (await import('node:fs')).writeFileSync(nextCert, next.cert);
    gw = await startTestGateway({ ...idp.env, TOLLGATE_SAML_IDP_CERTS: nextCert });
    sp = await idp.serviceProvider(gw.url);
  });
  afterAll(async () => {
    await gw?.stop();
    dir.remove();
  });

  it('publishes its SP metadata: entity ID, ACS (HTTP-POST), signing and encryption certificates', async () => {
    const response = await fetch(`${gw.url}/auth/saml/metadata`);
    expect(response.headers.get('content-type')).toMatch(/application\/samlmetadata\+xml/);
    const metadata = await response.text();
    expect(metadata).toContain(`entityID="${gw.url}/auth/saml/metadata"`);
    expect(metadata).toMatch(
      new RegExp(
        `Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${gw.url}/auth/saml/acs"`,
      ),
    );
    expect(metadata).toContain('WantAssertionsSigned="true"');
    expect(metadata).toContain('AuthnRequestsSigned="true"');
    expect(metadata).toContain('use="signing"');
    expect(metadata).toContain('use="encryption"');
  });

  it('signs a user in: signed AuthnRequest out, groups from the attribute, roles apply, audited', async () => {
    const { started, result } = await login(ada);
    // The AuthnRequest went out by HTTP-Redirect, signed with RSA-SHA256.
    expect(started.idpUrl.origin + started.idpUrl.pathname).toBe('https://idp.tollgate.test/saml/sso');
    expect(started.idpUrl.searchParams.get('SigAlg')).toBe(
      'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    );
    expect(started.idpUrl.searchParams.get('Signature')).toBeTruthy();
    expect(result.status).toBe(303);
    const tokens = await redeem(started, result.location);
    const claims = claimsOf(tokens.access_token);
    expect(claims).toMatchObject({ name: 'ada@tollgate.test', groups: ['tollgate-admins'] });
    const bearer = { authorization: `Bearer ${tokens.access_token}` };
    expect((await gw.request('GET', '/api/v1/agents', undefined, bearer)).status).toBe(200);

    const users = (await gw.request('GET', '/api/v1/users')).body as {
      items: {
        subject: string;
        email: string;
        displayName: string;
        groups: { name: string; source: string }[];
      }[];
    };
    expect(users.items.find((u) => u.subject === claims.sub)).toMatchObject({
      email: 'ada@tollgate.test',
      displayName: 'Ada Tester',
      groups: [{ name: 'tollgate-admins', source: 'idp' }],
    });
    expect((await audit()).at(-1)).toMatchObject({
      subject: claims.sub,
      action: 'login',
      decision: 'allow',
      reason: 'SAML login',
    });

    // A member of another group gets that group's access only; refresh works as for OIDC users.
    const other = await login(dev);
    const devTokens = await redeem(other.started, other.result.location);
    const denied = await gw.request('GET', '/api/v1/agents', undefined, {
      authorization: `Bearer ${devTokens.access_token}`,
    });
    expect(denied.status).toBe(403);
    const refreshed = await postTokenEndpoint(gw.url, {
      grant_type: 'refresh_token',
      refresh_token: devTokens.refresh_token,
    });
    expect(refreshed.status).toBe(200);
    expect(claimsOf((refreshed.body as { access_token: string }).access_token).groups).toEqual([
      'developers',
    ]);
  });

  it('accepts an encrypted assertion, decrypted with the configured key', async () => {
    const encrypting = new SamlIdpEntity(TEST_SAML_IDP, idp.entity.ssoUrl, idp.entity.keys, {
      encrypt: true,
    });
    const { started, response, result } = await login(dev, {}, { entity: encrypting });
    expect(xml(response)).toContain('EncryptedAssertion');
    expect(xml(response)).not.toContain('devi@tollgate.test');
    expect(claimsOf((await redeem(started, result.location)).access_token).name).toBe('devi@tollgate.test');
  });

  it('verifies with either of two configured IdP certificates (rotation), and only those', async () => {
    const rotated = await idp.impostor(next);
    const { started, result } = await login(dev, {}, { entity: rotated });
    expect(claimsOf((await redeem(started, result.location)).access_token).groups).toEqual(['developers']);
  });

  it('refuses a response signed by an unknown key', async () => {
    const forger = await idp.impostor();
    const { result } = await login(ada, {}, { entity: forger });
    await expectRefused(
      result,
      'signature',
      /not validly signed by the identity provider \(checked against 2 configured certificates\)/,
    );
  });

  it('refuses an unsigned response', async () => {
    const { result } = await login(
      ada,
      {},
      {
        mangle: (text) => text.replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/g, ''),
      },
    );
    await expectRefused(result, 'signature', /not validly signed/);
  });

  it('refuses an altered assertion (NameID or groups changed after signing)', async () => {
    const renamed = await login(
      dev,
      {},
      { mangle: (text) => text.replaceAll('devi@tollgate.test', 'ada@tollgate.test') },
    );
    await expectRefused(renamed.result, 'signature', /not validly signed/);
    const promoted = await login(
      dev,
      {},
      { mangle: (text) => text.replace('>developers<', '>tollgate-admins<') },
    );
    await expectRefused(promoted.result, 'signature', /not validly signed/);
  });

  it('refuses a wrapped signature (the signed assertion moved aside, a forged one in its place)', async () => {
    for (const where of ['Extensions', 'Advice'] as const) {
      const { result } = await login(
        dev,
        {},
        {
          mangle: (text) => {
            const doc = new DOMParser().parseFromString(text, 'text/xml');
            const root = doc.documentElement;
            const signed = root.getElementsByTagNameNS(
              'urn:oasis:names:tc:SAML:2.0:assertion',
              'Assertion',
            )[0];
            const forged = signed.cloneNode(true) as Element;
            forged.setAttribute('ID', '_forged');
            const forgedSignature = forged.getElementsByTagNameNS(
              'http://www.w3.org/2000/09/xmldsig#',
              'Signature',
            )[0];
            forged.removeChild(forgedSignature);
            const nameId = forged.getElementsByTagNameNS(
              'urn:oasis:names:tc:SAML:2.0:assertion',
              'NameID',
            )[0];
            nameId.textContent = 'ada@tollgate.test';
            root.replaceChild(forged, signed);
            if (where === 'Extensions') {
              const extensions = doc.createElementNS(
                'urn:oasis:names:tc:SAML:2.0:protocol',
                'samlp:Extensions',
              );
              extensions.appendChild(signed);
              root.insertBefore(extensions, root.firstChild!.nextSibling);
            } else {
              const advice = doc.createElementNS('urn:oasis:names:tc:SAML:2.0:assertion', 'saml:Advice');
              advice.appendChild(signed);
              forged.appendChild(advice);
            }
            return new XMLSerializer().serializeToString(doc);
          },
        },
      );
      await expectRefused(result, 'wrapping', /signature wrapping/);
    }
  });

  it('refuses a second assertion smuggled in beside the signed one', async () => {
    const { result } = await login(
      dev,
      {},
      {
        mangle: (text) => {
          const signed = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(text)![0];
          const smuggled = signed
            .replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, '')
            .replace(/ ID="[^"]+"/, ' ID="_smuggled"')
            .replaceAll('devi@tollgate.test', 'ada@tollgate.test');
          return text.replace('</samlp:Response>', `${smuggled}</samlp:Response>`);
        },
      },
    );
    await expectRefused(result, 'wrapping', /carries 2 assertions/);
  });

  it('refuses a NameID with an XML comment injected (signature still valid without it)', async () => {
    // The IdP signed "ada@tollgate.test.evil.example"; a comment would make a naive reader stop early.
    const { result } = await login(
      { ...ada, nameId: 'ada@tollgate.test.evil.example' },
      {},
      {
        mangle: (text) =>
          text.replace(
            'ada@tollgate.test.evil.example</saml:NameID>',
            'ada@tollgate.test<!---->.evil.example</saml:NameID>',
          ),
      },
    );
    await expectRefused(result, 'comment', /contains XML comments/);
  });

  it('refuses an expired assertion', async () => {
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const stale = new Date(Date.now() - 3_000_000).toISOString();
    const { result } = await login(dev, {
      IssueInstant: hourAgo,
      ConditionsNotBefore: hourAgo,
      ConditionsNotOnOrAfter: stale,
      SubjectConfirmationDataNotOnOrAfter: stale,
    });
    await expectRefused(result, 'expired', /has expired/);
  });

  it('refuses an assertion that is not valid yet (beyond the allowed clock skew)', async () => {
    const { result } = await login(dev, {
      ConditionsNotBefore: new Date(Date.now() + 600_000).toISOString(),
    });
    await expectRefused(result, 'not-yet-valid', /not valid yet/);
  });

  it('refuses an assertion for another audience', async () => {
    const { result } = await login(dev, { Audience: 'https://other-sp.example/metadata' });
    await expectRefused(
      result,
      'audience',
      /for the audience https:\/\/other-sp\.example\/metadata, not this gateway/,
    );
  });

  it('refuses an assertion for another recipient', async () => {
    const { result } = await login(dev, { SubjectRecipient: 'https://other-sp.example/acs' });
    await expectRefused(result, 'recipient', /meant for https:\/\/other-sp\.example\/acs, not this gateway/);
  });

  it('refuses a response addressed to another destination', async () => {
    const { result } = await login(dev, { Destination: 'https://other-sp.example/acs' });
    await expectRefused(
      result,
      'destination',
      /addressed to https:\/\/other-sp\.example\/acs, not this gateway/,
    );
  });

  it('refuses a response to another login request (InResponseTo)', async () => {
    const first = await startSamlLogin(gw.url);
    const second = await startSamlLogin(gw.url);
    const response = await idp.entity.response(sp, dev, { InResponseTo: first.requestId });
    const result = await postToAcs(gw.url, response, second.relayState);
    await expectRefused(result, 'in-response-to', /answers another login request/);
  });

  it('refuses a replayed response', async () => {
    const { started, response, result } = await login(dev);
    await redeem(started, result.location);
    const again = await postToAcs(gw.url, response, started.relayState);
    await expectRefused(again, 'replay', /already been used \(replay\)/);
  });

  it('refuses an assertion encrypted for another key', async () => {
    const encrypting = new SamlIdpEntity(TEST_SAML_IDP, idp.entity.ssoUrl, idp.entity.keys, {
      encrypt: true,
    });
    const stranger = await selfSignedRsa('someone-else');
    const metadata = (await (await fetch(`${gw.url}/auth/saml/metadata`)).text()).replace(
      /<ds:X509Certificate>[^<]*<\/ds:X509Certificate>/g,
      `<ds:X509Certificate>${certBody(stranger.cert)}</ds:X509Certificate>`,
    );
    expect(metadata).toContain(certBody(stranger.cert));
    const { result } = await login(
      dev,
      {},
      { entity: encrypting, sp: SamlIdpEntity.serviceProvider(metadata) },
    );
    await expectRefused(result, 'decryption', /cannot be decrypted with the gateway's decryption key/);
  });

  it('refuses IdP-initiated (unsolicited) responses while they are off (the default)', async () => {
    const response = await idp.entity.response(sp, ada);
    expect(xml(response)).not.toContain('InResponseTo');
    const result = await postToAcs(gw.url, response);
    expect(result.status).toBe(403);
    await expectRefused(result, 'unsolicited', /IdP-initiated\) is off/);
  });

  it("refuses a disabled user's SAML login", async () => {
    const first = await login(dev);
    const { sub } = claimsOf((await redeem(first.started, first.result.location)).access_token);
    expect((await gw.request('PATCH', `/api/v1/users/${sub.slice(5)}`, { disabled: true })).status).toBe(200);
    const { result } = await login(dev);
    await expectRefused(result, 'disabled', new RegExp(`user ${sub} is disabled in Tollgate`));
    expect((await audit()).at(-1)!.subject).toBe(sub);
    expect((await gw.request('PATCH', `/api/v1/users/${sub.slice(5)}`, { disabled: false })).status).toBe(
      200,
    );
  });

  it('answers a malformed post with a 400, not a login', async () => {
    const missing = await gw.request('POST', '/auth/saml/acs', 'RelayState=x', {
      authorization: '',
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(missing.status).toBe(400);
    const junk = await postToAcs(gw.url, b64('<not-saml/>'));
    await expectRefused(junk, 'malformed', /not a SAML 2\.0 Response/);
    const doctype = await postToAcs(
      gw.url,
      b64(
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&e;</samlp:Response>',
      ),
    );
    await expectRefused(doctype, 'malformed', /document type declaration/);
  });
});

function certBody(pem: string): string {
  return pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
}

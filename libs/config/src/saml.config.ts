import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { z } from 'zod';
import { boolean, port, positiveInt } from './setting-schemas';
import { isLoopbackHost } from './tunnel-endpoint';

const attributeName = z
  .string()
  .min(1)
  .max(300)
  .regex(/^[\x21-\x7e]+$/);

const pemFile = z.string().min(1).max(4096).optional();

/**
 * SAML 2.0 sign-in (the gateway as a service provider, beside or instead of OIDC). SAML is on when
 * TOLLGATE_SAML_IDP_METADATA is set, or with the development SAML IdP (--dev-saml).
 */
export const samlSettings = {
  samlIdpMetadata: {
    env: 'TOLLGATE_SAML_IDP_METADATA',
    flag: '--saml-idp-metadata',
    schema: z.string().min(1).max(4096).optional(),
    expected:
      "the identity provider's SAML metadata: an https URL (http only on loopback) or a path to the metadata XML file",
  },
  samlIdpCerts: {
    env: 'TOLLGATE_SAML_IDP_CERTS',
    schema: z
      .string()
      .min(1)
      .max(8192)
      .transform((value) =>
        value
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean),
      )
      .optional(),
    expected:
      'comma-separated PEM certificate files trusted to sign SAML responses, besides those in the metadata (for certificate rotation)',
  },
  samlSpEntityId: {
    env: 'TOLLGATE_SAML_SP_ENTITY_ID',
    schema: z.string().min(1).max(1024).optional(),
    expected: "the gateway's SAML entity ID (default <public URL>/auth/saml/metadata)",
  },
  samlGroupsAttribute: {
    env: 'TOLLGATE_SAML_GROUPS_ATTRIBUTE',
    schema: attributeName.default('groups'),
    expected: 'the name of the SAML attribute that lists the user groups (default groups)',
  },
  samlEmailAttribute: {
    env: 'TOLLGATE_SAML_EMAIL_ATTRIBUTE',
    schema: attributeName.optional(),
    expected:
      'the name of the SAML attribute holding the e-mail address (default: email, mail or the usual OID and claim URIs, else an e-mail NameID)',
  },
  samlDisplayNameAttribute: {
    env: 'TOLLGATE_SAML_DISPLAY_NAME_ATTRIBUTE',
    schema: attributeName.optional(),
    expected:
      'the name of the SAML attribute holding the display name (default: displayName, name or the usual OID and claim URIs)',
  },
  samlSpKey: {
    env: 'TOLLGATE_SAML_SP_KEY',
    schema: pemFile,
    expected: 'a PEM RSA private key file that signs the AuthnRequests (with TOLLGATE_SAML_SP_CERT)',
  },
  samlSpCert: {
    env: 'TOLLGATE_SAML_SP_CERT',
    schema: pemFile,
    expected: 'the PEM certificate file of TOLLGATE_SAML_SP_KEY, published in the SP metadata',
  },
  samlDecryptionKey: {
    env: 'TOLLGATE_SAML_DECRYPTION_KEY',
    schema: pemFile,
    expected:
      'a PEM RSA private key file that decrypts encrypted assertions (with TOLLGATE_SAML_DECRYPTION_CERT)',
  },
  samlDecryptionCert: {
    env: 'TOLLGATE_SAML_DECRYPTION_CERT',
    schema: pemFile,
    expected: 'the PEM certificate file of TOLLGATE_SAML_DECRYPTION_KEY, published in the SP metadata',
  },
  samlClockSkewSeconds: {
    env: 'TOLLGATE_SAML_CLOCK_SKEW_SECONDS',
    schema: z.coerce.number().int().min(0).max(300).default(60),
    expected: 'seconds of clock difference allowed on NotBefore/NotOnOrAfter, 0 to 300 (default 60)',
  },
  samlMaxAssertionAgeSeconds: {
    env: 'TOLLGATE_SAML_MAX_ASSERTION_AGE_SECONDS',
    schema: positiveInt(600, 3600),
    expected:
      'how old (since IssueInstant) an assertion may be when it arrives, 1 to 3600 seconds (default 600)',
  },
  samlAllowIdpInitiated: {
    env: 'TOLLGATE_SAML_ALLOW_IDP_INITIATED',
    schema: boolean(false),
    expected: 'true or false: accept unsolicited (IdP-initiated) SAML responses (default false)',
  },
  devSaml: {
    env: 'TOLLGATE_DEV_SAML',
    flag: '--dev-saml',
    schema: boolean(false),
    expected: 'true or false: run the development SAML identity provider with the demo users in process',
  },
  devSamlPort: {
    env: 'TOLLGATE_DEV_SAML_PORT',
    flag: '--dev-saml-port',
    schema: port(8012),
    expected: 'a TCP port number 0-65535 for the development SAML identity provider (default 8012)',
  },
} as const;

interface SamlValues {
  readonly samlIdpMetadata?: string;
  readonly samlIdpCerts?: readonly string[];
  readonly samlSpKey?: string;
  readonly samlSpCert?: string;
  readonly samlDecryptionKey?: string;
  readonly samlDecryptionCert?: string;
  readonly samlSpEntityId?: string;
  readonly devSaml: boolean;
}

/** Settings that are valid alone but not together, and files that cannot be used. */
export function samlProblems(config: SamlValues): string[] {
  const problems: string[] = [];
  if (config.samlIdpMetadata !== undefined) {
    const problem = metadataSourceProblem(config.samlIdpMetadata);
    if (problem) problems.push(`TOLLGATE_SAML_IDP_METADATA: ${problem}`);
    if (config.devSaml) {
      problems.push(
        'TOLLGATE_DEV_SAML: expected false when TOLLGATE_SAML_IDP_METADATA is set (the dev SAML IdP is the IdP otherwise)',
      );
    }
  }
  const samlOn = config.samlIdpMetadata !== undefined || config.devSaml;
  if (!samlOn) {
    for (const [name, value] of [
      ['TOLLGATE_SAML_IDP_CERTS', config.samlIdpCerts],
      ['TOLLGATE_SAML_SP_KEY', config.samlSpKey],
      ['TOLLGATE_SAML_DECRYPTION_KEY', config.samlDecryptionKey],
      ['TOLLGATE_SAML_SP_ENTITY_ID', config.samlSpEntityId],
    ] as const) {
      if (value !== undefined)
        problems.push(
          `${name}: set, but SAML is off (expected TOLLGATE_SAML_IDP_METADATA or --dev-saml too)`,
        );
    }
  }
  for (const file of config.samlIdpCerts ?? []) {
    const problem = certificateProblem(file);
    if (problem) problems.push(`TOLLGATE_SAML_IDP_CERTS: ${problem}`);
  }
  problems.push(
    ...keyPairProblems('TOLLGATE_SAML_SP_KEY', config.samlSpKey, 'TOLLGATE_SAML_SP_CERT', config.samlSpCert),
    ...keyPairProblems(
      'TOLLGATE_SAML_DECRYPTION_KEY',
      config.samlDecryptionKey,
      'TOLLGATE_SAML_DECRYPTION_CERT',
      config.samlDecryptionCert,
    ),
  );
  return problems;
}

function metadataSourceProblem(value: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return `expected an https URL or a file path, got ${JSON.stringify(value)}`;
    }
    if (url.protocol === 'https:') return undefined;
    if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return undefined;
    return `expected an https URL (http only on loopback) or a file path, got ${JSON.stringify(value)}`;
  }
  return readableProblem(value);
}

function readableProblem(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (error) {
    return `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`;
  }
}

function certificateProblem(path: string): string | undefined {
  const unreadable = readableProblem(path);
  if (unreadable) return unreadable;
  try {
    new X509Certificate(readFileSync(path));
    return undefined;
  } catch {
    return `${path} is not a PEM certificate`;
  }
}

function keyPairProblems(
  keyName: string,
  keyPath: string | undefined,
  certName: string,
  certPath: string | undefined,
): string[] {
  if (keyPath === undefined && certPath === undefined) return [];
  if (keyPath === undefined || certPath === undefined)
    return [`${keyName} and ${certName}: set both or neither`];
  const problems: string[] = [];
  let key: KeyObject | undefined;
  const keyUnreadable = readableProblem(keyPath);
  if (keyUnreadable) problems.push(`${keyName}: ${keyUnreadable}`);
  else {
    try {
      key = createPrivateKey(readFileSync(keyPath));
      if (key.asymmetricKeyType !== 'rsa') {
        problems.push(
          `${keyName}: expected an RSA private key (XML signature and encryption), got ${key.asymmetricKeyType}`,
        );
        key = undefined;
      }
    } catch {
      problems.push(`${keyName}: ${keyPath} is not a PEM private key`);
    }
  }
  const certProblem = certificateProblem(certPath);
  if (certProblem) problems.push(`${certName}: ${certProblem}`);
  else if (key && !new X509Certificate(readFileSync(certPath)).checkPrivateKey(key)) {
    problems.push(`${certName}: ${certPath} does not belong to the key in ${keyName}`);
  }
  return problems;
}

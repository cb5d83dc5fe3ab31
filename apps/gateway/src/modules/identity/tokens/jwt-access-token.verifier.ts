import { Inject, Injectable } from '@nestjs/common';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { UnauthenticatedError, type RefusedTokenAttribution } from '../../../common/errors';
import { AuditWriter } from '../../audit/audit-writer';
import { StoreService } from '../../store/store.service';
import { AccessTokenVerifier } from '../access-token-verifier';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { IdentityOptionsToken, type IdentityOptions } from '../identity-options';
import { SIGNING_ALG, SigningKeysService } from '../keys/signing-keys.service';
import type { Principal } from '../principal';
import { SubjectDirectoryService } from '../subjects/subject-directory.service';
import { chainFromActClaim } from './act-claim';
import { ACCESS_TOKEN_TYPE } from './token-issuer.service';
import { TokenRevocationService } from './token-revocation.service';

/**
 * A token was refused; `reason` is safe to show the caller. `attribution` is set once the signature
 * has checked out: the claims are then ours, and the refusal is recorded under them.
 */
class TokenRejected extends Error {
  constructor(
    reason: string,
    readonly attribution?: RefusedTokenAttribution,
  ) {
    super(reason);
  }
}

/**
 * Verifies gateway access tokens and API keys. Every refusal is written to the audit log before the
 * UnauthenticatedError is thrown; if even that fails, the answer is still a refusal.
 */
/** Tokens whose signature and claims checked out, kept so the signature is not checked again. */
const MAX_VERIFIED_TOKENS = 10_000;
const CLOCK_TOLERANCE_SECONDS = 5;

@Injectable()
export class JwtAccessTokenVerifier extends AccessTokenVerifier {
  /**
   * The claims of tokens verified before, by the token's text: the same bytes carry the same
   * signature, so only the time checks are repeated (revocation and the subject are re-read from
   * their facts every time).
   */
  private readonly verified = new Map<string, JWTPayload>();

  constructor(
    private readonly keys: SigningKeysService,
    private readonly revocation: TokenRevocationService,
    private readonly subjects: SubjectDirectoryService,
    private readonly apiKeys: ApiKeysService,
    private readonly audit: AuditWriter,
    private readonly store: StoreService,
    @Inject(IdentityOptionsToken) private readonly options: IdentityOptions,
  ) {
    super();
  }

  override async verify(token: string): Promise<Principal> {
    // Every request and session open starts here: what it decides by (the token's grant, the
    // subject, then the connection and the policy) is read from memory, current as of this point
    // on every replica (a change committed before it through any replica has been heard).
    await this.store.changesSettled();
    try {
      return ApiKeysService.looksLikeApiKey(token)
        ? await this.verifyApiKey(token)
        : await this.verifyJwt(token);
    } catch (error) {
      if (!(error instanceof TokenRejected)) throw error;
      const reason = error.message;
      const { attribution } = error;
      await this.audit
        .record({
          subject: attribution?.subject ?? unverifiedSubject(token),
          ...(attribution?.actorChain.length ? { actorChain: attribution.actorChain } : {}),
          action: 'authenticate',
          ...(attribution?.tokenId ? { target: `token:${attribution.tokenId}` } : {}),
          decision: 'deny',
          reason,
          payload: { verified: false, signatureValid: attribution !== undefined },
        })
        .catch(() => undefined);
      throw new UnauthenticatedError(`invalid token: ${reason}`, attribution);
    }
  }

  private async verifyJwt(token: string): Promise<Principal> {
    const known = this.verified.get(token);
    const now = Date.now() / 1000;
    const payload =
      known && known.exp! + CLOCK_TOLERANCE_SECONDS > now ? known : await this.verifySignature(token);
    return this.principalOf(payload);
  }

  private async verifySignature(token: string): Promise<JWTPayload> {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw new TokenRejected('malformed token');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header) => {
          const key = header.kid ? await this.keys.verificationKey(header.kid) : undefined;
          if (!key) throw new TokenRejected(`unknown signing key (kid ${JSON.stringify(kid ?? null)})`);
          return key;
        },
        {
          issuer: this.options.tokenIssuer,
          audience: this.options.tokenAudience,
          algorithms: [SIGNING_ALG],
          typ: ACCESS_TOKEN_TYPE,
          requiredClaims: ['sub', 'jti', 'exp', 'iat', 'nbf'],
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
        },
      ));
    } catch (error) {
      if (error instanceof TokenRejected) throw error;
      // jose checks claims (expiry ...) only after the signature: such a token is ours.
      const claims =
        error instanceof joseErrors.JWTClaimValidationFailed || error instanceof joseErrors.JWTExpired
          ? error.payload
          : undefined;
      throw new TokenRejected(joseReason(error), claims && attributionOf(claims));
    }
    if (this.verified.size >= MAX_VERIFIED_TOKENS) {
      const oldest = this.verified.keys().next();
      if (!oldest.done) this.verified.delete(oldest.value);
    }
    this.verified.set(token, payload);
    return payload;
  }

  private async principalOf(payload: JWTPayload): Promise<Principal> {
    let actorChain;
    try {
      actorChain = chainFromActClaim(payload.act);
    } catch (error) {
      throw new TokenRejected((error as Error).message, { subject: payload.sub!, actorChain: [] });
    }
    const attribution = { subject: payload.sub!, actorChain, tokenId: payload.jti! };

    // The subject and the actors first: a deleted account's tokens are revoked with it (and so are
    // those derived from them), and "no longer exists" says why better than "revoked" does.
    const subject = payload.sub!;
    const state = await this.subjects.current(subject);
    if (!state.ok) throw new TokenRejected(state.reason, attribution);

    // Every actor in the chain is held to the same: a delegated token stops working once any
    // service account or person acting in it is disabled or deleted (a compromised automation is cut
    // off from the tokens it obtained by exchange, not only from its own).
    for (const actor of new Set(actorChain.map((a) => a.subject))) {
      if (actor === subject) continue;
      const acting = await this.subjects.current(actor);
      if (!acting.ok) throw new TokenRejected(`actor ${actor}: ${acting.reason}`, attribution);
    }

    const jti = payload.jti!;
    const problem = await this.revocation.revocationProblem(jti);
    if (problem) throw new TokenRejected(problem, attribution);

    const tokenGroups = stringArray(payload.groups);
    return {
      subject,
      displayName: typeof payload.name === 'string' ? payload.name : state.displayName,
      ...(state.email ? { email: state.email } : {}),
      // Groups the token carries that the subject still has: a removed membership stops counting at once.
      groups: tokenGroups.filter((g) => state.groups.includes(g)),
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      actorChain,
      tokenId: jti,
      expiresAt: new Date(payload.exp! * 1000),
    };
  }

  private async verifyApiKey(token: string): Promise<Principal> {
    const check = await this.apiKeys.check(token);
    if (!check.ok) throw new TokenRejected(check.reason);
    const state = await this.subjects.current(check.key.subject);
    if (!state.ok) throw new TokenRejected(state.reason);
    return {
      subject: check.key.subject,
      displayName: `${state.displayName} (API key ${check.key.prefix})`,
      ...(state.email ? { email: state.email } : {}),
      groups: state.groups,
      scopes: check.key.scopes,
      actorChain: [],
      tokenId: `apikey:${check.key.prefix}`,
      expiresAt: check.key.expiresAt ? new Date(check.key.expiresAt) : new Date(8.64e15),
    };
  }
}

function joseReason(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'nbf':
        return 'the token is not yet valid (nbf is in the future)';
      case 'iat':
        return 'the token was issued in the future';
      case 'iss':
        return 'the token was not issued by this gateway (wrong issuer)';
      case 'aud':
        return 'the token is not meant for this gateway (wrong audience)';
      case 'typ':
        return 'the token is not an access token (wrong typ)';
      default:
        return `the token's ${error.claim} claim is invalid`;
    }
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported) {
    return `the token's signature algorithm is not accepted (only ${SIGNING_ALG})`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  return 'malformed token';
}

/** Who a signed token names (its claims checked out as ours, not its validity). */
function attributionOf(claims: JWTPayload): RefusedTokenAttribution | undefined {
  if (typeof claims.sub !== 'string') return undefined;
  let actorChain: RefusedTokenAttribution['actorChain'] = [];
  try {
    actorChain = chainFromActClaim(claims.act);
  } catch {
    // a malformed chain names nobody
  }
  return {
    subject: claims.sub,
    actorChain,
    ...(typeof claims.jti === 'string' ? { tokenId: claims.jti } : {}),
  };
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** For the audit record of a refused token: who it claims to be (unverified), never the token. */
function unverifiedSubject(token: string): string {
  if (ApiKeysService.looksLikeApiKey(token)) return `apikey:${token.split('_')[1] ?? '?'}`;
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      sub?: unknown;
    };
    if (typeof payload.sub === 'string' && payload.sub.length <= 200) return `unverified:${payload.sub}`;
  } catch {
    // not decodable: nothing to name
  }
  return 'anonymous';
}

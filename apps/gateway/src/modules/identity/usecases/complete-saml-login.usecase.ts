import { Injectable, Logger } from '@nestjs/common';
import { AuditWriter } from '../../audit/audit-writer';
import { LoginTransactionsService } from '../oidc/login-transactions';
import { SamlDeviceLoginsService } from '../saml/saml-device-logins.service';
import { identityFromAssertion } from '../saml/saml-identity';
import { SamlLoginsService, type SamlLoginTransaction } from '../saml/saml-logins.service';
import { SamlRefusal } from '../saml/saml-refusal';
import { SamlServiceProviderService } from '../saml/saml-service-provider.service';
import type { VerifiedSamlResponse } from '../saml/saml-response.verifier';
import { SyncUserUseCase } from '../subjects/sync-user.usecase';

/** Where the browser goes after the assertion consumer service. */
export type SamlLoginOutcome =
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'page'; readonly status: number; readonly title: string; readonly message: string };

/**
 * The assertion consumer service (HTTP-POST binding): verifies the response, spends its assertion
 * ID (a replay is refused on every replica), binds it to the login it answers (InResponseTo and
 * RelayState), syncs the user and groups like an OIDC login, and hands the login to whoever
 * started it: a one-time gateway code for a PKCE client (`tollgate login`, the console), or the
 * approval of a device login. Every refusal is shown to the user and recorded (`login`, deny, with
 * the failed check), and ends the login it belonged to.
 */
@Injectable()
export class CompleteSamlLoginUseCase {
  private readonly logger = new Logger('saml');

  constructor(
    private readonly sp: SamlServiceProviderService,
    private readonly logins: SamlLoginsService,
    private readonly devices: SamlDeviceLoginsService,
    private readonly codes: LoginTransactionsService,
    private readonly syncUser: SyncUserUseCase,
    private readonly audit: AuditWriter,
  ) {}

  async execute(input: { samlResponse: string; relayState?: string }): Promise<SamlLoginOutcome> {
    const transaction = input.relayState ? await this.logins.take(input.relayState) : undefined;
    let verified: VerifiedSamlResponse | undefined;
    try {
      verified = await this.sp.verify(input.samlResponse, transaction?.requestId);
      const { assertion } = verified;
      if (!(await this.logins.spendAssertion(assertion.id, this.sp.idpEntityId, verified.usableUntil))) {
        throw new SamlRefusal('replay', 'this SAML assertion has already been used (replay); sign in again');
      }
      if (!transaction && verified.answers !== undefined) {
        throw new SamlRefusal(
          'in-response-to',
          'the SAML response answers a login this gateway has no record of (expired, finished or started elsewhere); sign in again',
        );
      }
      if (!transaction && !this.sp.allowIdpInitiated) {
        throw new SamlRefusal(
          'unsolicited',
          'sign-in started at the identity provider (IdP-initiated) is off on this gateway; start the login from Tollgate (tollgate login, or the console)',
        );
      }
      const identity = identityFromAssertion(assertion, this.sp.idpEntityId, this.sp.attributeNames);
      const synced = await this.syncUser.execute(identity);
      if (!synced.ok) {
        return await this.refuse(
          transaction,
          new SamlRefusal('disabled', synced.reason),
          verified,
          synced.userId,
        );
      }
      return await this.accept(transaction, synced.userId, identity.email ?? identity.subject);
    } catch (error) {
      if (!(error instanceof SamlRefusal)) throw error;
      return this.refuse(transaction, error, verified);
    }
  }

  private async accept(
    transaction: SamlLoginTransaction | undefined,
    userId: string,
    who: string,
  ): Promise<SamlLoginOutcome> {
    if (!transaction) {
      await this.audit.record({
        subject: `user:${userId}`,
        action: 'login',
        decision: 'allow',
        reason: 'SAML sign-in started at the identity provider (IdP-initiated) verified; no token issued',
        payload: { method: 'saml', idp: this.sp.idpEntityId, idpInitiated: true },
      });
      return {
        kind: 'page',
        status: 200,
        title: 'Signed in at your identity provider',
        message: `You are ${who}. Tollgate issues tokens only to logins it starts: run \`tollgate login\`, or open the console, and sign in again there (your identity provider will not ask twice).`,
      };
    }
    const { purpose } = transaction;
    if (purpose.kind === 'device') {
      await this.devices.settle(purpose.deviceId, { userId });
      return {
        kind: 'page',
        status: 200,
        title: 'Signed in',
        message: `Signed in as ${who}. You can return to your device.`,
      };
    }
    const code = await this.codes.issueCode({
      userId,
      redirectUri: purpose.clientRedirectUri,
      codeChallenge: purpose.clientCodeChallenge,
      method: 'saml',
    });
    return { kind: 'redirect', location: clientRedirect(transaction, { code }) };
  }

  private async refuse(
    transaction: SamlLoginTransaction | undefined,
    refusal: SamlRefusal,
    verified?: VerifiedSamlResponse,
    userId?: string,
  ): Promise<SamlLoginOutcome> {
    this.logger.warn(`SAML login refused (${refusal.check}): ${refusal.message}`);
    // Only a verified assertion's subject is worth naming; anything else is a claim.
    const nameId = verified?.assertion.nameId;
    await this.audit.record({
      subject: userId ? `user:${userId}` : nameId ? `saml:${nameId}` : 'anonymous',
      action: 'login',
      decision: 'deny',
      reason: refusal.message,
      payload: {
        method: 'saml',
        check: refusal.check,
        idp: this.sp.idpEntityId,
        ...(verified ? { assertion: verified.assertion.id } : {}),
      },
    });
    if (transaction?.purpose.kind === 'code') {
      return {
        kind: 'redirect',
        location: clientRedirect(transaction, { error: 'access_denied', error_description: refusal.message }),
      };
    }
    if (transaction?.purpose.kind === 'device') {
      await this.devices.settle(transaction.purpose.deviceId, { reason: refusal.message });
    }
    return { kind: 'page', status: 403, title: 'Sign-in refused', message: refusal.message };
  }
}

function clientRedirect(transaction: SamlLoginTransaction, params: Record<string, string>): string {
  if (transaction.purpose.kind !== 'code') throw new Error('not a code login');
  const target = new URL(transaction.purpose.clientRedirectUri);
  for (const [k, v] of Object.entries({ ...params, state: transaction.purpose.clientState })) {
    target.searchParams.set(k, v);
  }
  return target.href;
}

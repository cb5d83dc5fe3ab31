import { Injectable } from '@nestjs/common';
import { SamlLoginsService, type SamlLoginPurpose } from '../saml/saml-logins.service';
import { SamlServiceProviderService } from '../saml/saml-service-provider.service';

/** Starts an SP-initiated SAML login: records it, and answers the IdP URL to send the browser to. */
@Injectable()
export class StartSamlLoginUseCase {
  constructor(
    private readonly sp: SamlServiceProviderService,
    private readonly logins: SamlLoginsService,
  ) {}

  async execute(purpose: SamlLoginPurpose): Promise<string> {
    const { relayState, requestId } = await this.logins.start(purpose);
    return this.sp.authnRequestUrl(requestId, relayState);
  }
}

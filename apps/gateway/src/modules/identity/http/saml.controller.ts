import { Body, Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { NotFoundError, ValidationError } from '../../../common/errors';
import { SamlServiceProviderService } from '../saml/saml-service-provider.service';
import { CompleteSamlLoginUseCase } from '../usecases/complete-saml-login.usecase';
import { Public } from './access.decorators';
import { escapeHtml, identityPageHeaders, identityPage } from './identity-pages';

/** The gateway's SAML service provider endpoints: its metadata, and the assertion consumer service. */
@ApiExcludeController()
@Public()
@Controller('auth/saml')
export class SamlController {
  constructor(
    private readonly sp: SamlServiceProviderService,
    private readonly completeLogin: CompleteSamlLoginUseCase,
  ) {}

  @Get('metadata')
  metadata(@Res() reply: FastifyReply): void {
    if (!this.sp.enabled) throw new NotFoundError('SAML service provider', 'TOLLGATE_SAML_IDP_METADATA');
    void reply
      .status(200)
      .header('content-type', 'application/samlmetadata+xml; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(this.sp.metadataXml());
  }

  /** HTTP-POST binding: SAMLResponse and RelayState, form-encoded, posted by the user's browser. */
  @Post('acs')
  @HttpCode(200)
  async acs(@Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    if (!this.sp.enabled) throw new NotFoundError('SAML service provider', 'TOLLGATE_SAML_IDP_METADATA');
    const form = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const samlResponse = form.SAMLResponse;
    const relayState = form.RelayState;
    if (typeof samlResponse !== 'string' || samlResponse === '') {
      throw new ValidationError([{ field: 'SAMLResponse', message: 'required (HTTP-POST binding)' }]);
    }
    if (relayState !== undefined && (typeof relayState !== 'string' || relayState.length > 80)) {
      throw new ValidationError([{ field: 'RelayState', message: 'at most 80 characters' }]);
    }
    const outcome = await this.completeLogin.execute({ samlResponse, relayState: relayState || undefined });
    if (outcome.kind === 'redirect') {
      void reply.status(303).header('location', outcome.location).header('cache-control', 'no-store').send();
      return;
    }
    void reply
      .status(outcome.status)
      .headers(identityPageHeaders())
      .send(
        identityPage(
          outcome.title,
          `<p role="${outcome.status >= 400 ? 'alert' : 'status'}">${escapeHtml(outcome.message)}</p>`,
        ),
      );
  }
}

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Body, Controller, Get, Headers, Post, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { NotFoundError } from '../../../common/errors';
import { SamlDeviceLoginsService } from '../saml/saml-device-logins.service';
import { SamlServiceProviderService } from '../saml/saml-service-provider.service';
import { StartSamlLoginUseCase } from '../usecases/start-saml-login.usecase';
import { Public } from './access.decorators';
import { escapeHtml, identityPageHeaders, identityPage } from './identity-pages';

const CSRF_COOKIE = 'tollgate_device_csrf';

/**
 * The verification page of the gateway's own device logins (SAML): the user types (or confirms)
 * the code `tollgate login --device` shows, then signs in at the IdP. The form carries a
 * same-site cookie token, so another site cannot submit a code for the user and have their
 * identity-provider session approve someone else's device.
 */
@ApiExcludeController()
@Public()
@Controller('auth/device')
export class DeviceVerificationController {
  constructor(
    private readonly sp: SamlServiceProviderService,
    private readonly devices: SamlDeviceLoginsService,
    private readonly startLogin: StartSamlLoginUseCase,
  ) {}

  @Get()
  show(@Query('user_code') userCode: string | undefined, @Res() reply: FastifyReply): void {
    if (!this.sp.enabled) throw new NotFoundError('SAML service provider', 'TOLLGATE_SAML_IDP_METADATA');
    this.sendForm(reply, 200, typeof userCode === 'string' ? userCode.slice(0, 20) : '');
  }

  @Post()
  async submit(
    @Body() body: unknown,
    @Headers('cookie') cookies: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!this.sp.enabled) throw new NotFoundError('SAML service provider', 'TOLLGATE_SAML_IDP_METADATA');
    const form = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const userCode = typeof form.user_code === 'string' ? form.user_code.slice(0, 20) : '';
    const token = typeof form.csrf === 'string' ? form.csrf : '';
    if (!sameToken(token, cookieValue(cookies, CSRF_COOKIE))) {
      return this.sendForm(
        reply,
        400,
        userCode,
        'The form expired or came from another site; enter the code again.',
      );
    }
    const deviceId = await this.devices.findByUserCode(userCode);
    if (!deviceId) {
      return this.sendForm(
        reply,
        400,
        userCode,
        'Unknown or expired code; check the code your device shows.',
      );
    }
    const location = await this.startLogin.execute({ kind: 'device', deviceId });
    void reply.status(303).header('location', location).header('cache-control', 'no-store').send();
  }

  private sendForm(reply: FastifyReply, status: number, userCode: string, error?: string): void {
    const csrf = randomBytes(24).toString('base64url');
    void reply
      .status(status)
      .headers(identityPageHeaders([this.sp.idpOrigin]))
      .header(
        'set-cookie',
        `${CSRF_COOKIE}=${csrf}; Path=/auth/device; HttpOnly; SameSite=Strict; Max-Age=600`,
      )
      .send(
        identityPage(
          'Sign in a device',
          `<p>Enter the code shown by <code>tollgate login --device</code>, then sign in at your identity provider.</p>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="device">
<input type="hidden" name="csrf" value="${csrf}">
<label>Code <input name="user_code" value="${escapeHtml(userCode)}" autocomplete="off" autocapitalize="characters" required></label>
<button type="submit">Continue</button>
</form>`,
        ),
      );
  }
}

function cookieValue(header: string | undefined, name: string): string {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return '';
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length > 0 && x.length === y.length && timingSafeEqual(x, y);
}

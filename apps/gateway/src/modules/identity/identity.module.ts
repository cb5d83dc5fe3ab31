import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessDecider } from './access-decider';
import { AccessTokenVerifier } from './access-token-verifier';
import { ApiKeysService } from './api-keys/api-keys.service';
import { AccessGuard } from './http/access.guard';
import { ApiKeysController } from './http/api-keys.controller';
import { DeviceVerificationController } from './http/device-verification.controller';
import { LoginController } from './http/login.controller';
import { SamlController } from './http/saml.controller';
import { MeController } from './http/me.controller';
import { PolicyController } from './http/policy.controller';
import { ServiceAccountsController } from './http/service-accounts.controller';
import { SshKeysController } from './http/ssh-keys.controller';
import { TokenAdminController } from './http/token-admin.controller';
import { UsersController } from './http/users.controller';
import { TokenController } from './http/token.controller';
import { IdentityOptionsToken, type IdentityOptions } from './identity-options';
import { SecretBox } from './keys/secret-box';
import { SigningKeysService } from './keys/signing-keys.service';
import { DeviceLoginsService } from './oidc/device-logins.service';
import { LoginStateStore } from './oidc/login-state.store';
import { LoginTransactionsService } from './oidc/login-transactions';
import { OidcRelyingPartyService } from './oidc/oidc-relying-party.service';
import { SyncUserUseCase } from './subjects/sync-user.usecase';
import { UserTokensService } from './oidc/user-tokens.service';
import { AccessExplorer } from './rbac/access-explorer';
import { ActivePolicyService } from './rbac/active-policy.service';
import { AuditReadScopes } from './rbac/audit-read-scope';
import { RbacAccessDecider } from './rbac/rbac.access-decider';
import { RegistrationAccess } from './rbac/registration-access';
import { SamlDeviceLoginsService } from './saml/saml-device-logins.service';
import { SamlLoginsService } from './saml/saml-logins.service';
import { SamlServiceProviderService } from './saml/saml-service-provider.service';
import { ServiceAccountsService } from './service-accounts/service-accounts.service';
import { SshKeysService } from './ssh-keys/ssh-keys.service';
import { SubjectDirectoryService } from './subjects/subject-directory.service';
import { JwtAccessTokenVerifier } from './tokens/jwt-access-token.verifier';
import { TokenIssuerService } from './tokens/token-issuer.service';
import { TokenRevocationService } from './tokens/token-revocation.service';
import { AuthorizationCodeGrantUseCase } from './usecases/authorization-code-grant.usecase';
import { ClientCredentialsGrantUseCase } from './usecases/client-credentials-grant.usecase';
import { CompleteSamlLoginUseCase } from './usecases/complete-saml-login.usecase';
import { DescribeCallerAccessUseCase } from './usecases/describe-caller-access.usecase';
import { DeviceCodeGrantUseCase } from './usecases/device-code-grant.usecase';
import { RefreshTokenGrantUseCase } from './usecases/refresh-token-grant.usecase';
import { SamlDeviceGrantUseCase } from './usecases/saml-device-grant.usecase';
import { StartSamlLoginUseCase } from './usecases/start-saml-login.usecase';
import { TokenExchangeGrantUseCase } from './usecases/token-exchange-grant.usecase';

/**
 * Who is calling and what they may do: gateway tokens (issue, verify, revoke, JWKS), service
 * accounts, API keys, token exchange, RBAC, and the guard on every HTTP route. Global, so every
 * entry path (REST, gRPC ClientTunnel, native listeners) injects AccessTokenVerifier and
 * AccessDecider.
 */
@Global()
@Module({})
export class IdentityModule {
  static forOptions(options: IdentityOptions): DynamicModule {
    return {
      module: IdentityModule,
      controllers: [
        TokenController,
        LoginController,
        SamlController,
        DeviceVerificationController,
        ServiceAccountsController,
        UsersController,
        ApiKeysController,
        SshKeysController,
        PolicyController,
        TokenAdminController,
        MeController,
      ],
      providers: [
        { provide: IdentityOptionsToken, useValue: options },
        { provide: SecretBox, useValue: SecretBox.from(options.storeKey) },
        SigningKeysService,
        TokenIssuerService,
        TokenRevocationService,
        SubjectDirectoryService,
        ApiKeysService,
        SshKeysService,
        ServiceAccountsService,
        ActivePolicyService,
        AccessExplorer,
        AuditReadScopes,
        DescribeCallerAccessUseCase,
        { provide: AccessTokenVerifier, useClass: JwtAccessTokenVerifier },
        { provide: AccessDecider, useClass: RbacAccessDecider },
        RegistrationAccess,
        { provide: APP_GUARD, useClass: AccessGuard },
        ClientCredentialsGrantUseCase,
        TokenExchangeGrantUseCase,
        OidcRelyingPartyService,
        LoginStateStore,
        LoginTransactionsService,
        SyncUserUseCase,
        UserTokensService,
        AuthorizationCodeGrantUseCase,
        RefreshTokenGrantUseCase,
        DeviceLoginsService,
        DeviceCodeGrantUseCase,
        SamlServiceProviderService,
        SamlLoginsService,
        SamlDeviceLoginsService,
        StartSamlLoginUseCase,
        CompleteSamlLoginUseCase,
        SamlDeviceGrantUseCase,
      ],
      exports: [
        AccessTokenVerifier,
        AccessDecider,
        RegistrationAccess,
        TokenIssuerService,
        TokenRevocationService,
        SigningKeysService,
        ServiceAccountsService,
        ApiKeysService,
        SshKeysService,
        SubjectDirectoryService,
        ActivePolicyService,
        AccessExplorer,
        AuditReadScopes,
        IdentityOptionsToken,
        OidcRelyingPartyService,
        SamlServiceProviderService,
      ],
    };
  }
}

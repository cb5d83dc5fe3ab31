import { type DynamicModule, Module } from '@nestjs/common';
import { AuditChainController } from './audit-chain.controller';
import { AuditController } from './audit.controller';
import { AuditWebhookExporter } from './audit-webhook.exporter';
import { AuditWriter } from './audit-writer';
import { SessionAuditService } from './session-audit.service';
import { WebhookDispatcher, WebhookOptionsToken, type WebhookOptions } from './webhook-dispatcher';

/**
 * The gateway-side audit log: the group-committing writer (global and per-session hash chains),
 * session events, verification, export, webhooks and the read API. Global: every module audits.
 */
@Module({})
export class AuditModule {
  static forRoot(webhooks: WebhookOptions): DynamicModule {
    return {
      module: AuditModule,
      global: true,
      controllers: [AuditController, AuditChainController],
      providers: [
        { provide: WebhookOptionsToken, useValue: webhooks },
        WebhookDispatcher,
        AuditWebhookExporter,
        AuditWriter,
        SessionAuditService,
      ],
      exports: [AuditWriter, SessionAuditService, WebhookDispatcher],
    };
  }
}

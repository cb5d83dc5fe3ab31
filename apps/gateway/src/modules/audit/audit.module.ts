import { Global, Module } from '@nestjs/common';
import { AuditChainController } from './audit-chain.controller';
import { AuditController } from './audit.controller';
import { AuditWriter } from './audit-writer';
import { SessionAuditService } from './session-audit.service';

/**
 * The gateway-side audit log: the group-committing writer (global and per-session hash chains),
 * session events, verification, export and the read API.
 */
@Global()
@Module({
  controllers: [AuditController, AuditChainController],
  providers: [AuditWriter, SessionAuditService],
  exports: [AuditWriter, SessionAuditService],
})
export class AuditModule {}

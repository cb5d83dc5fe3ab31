import { Global, Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditWriter } from './audit-writer';

/** The gateway-side audit log: the writer (global hash chain) and the read API. */
@Global()
@Module({
  controllers: [AuditController],
  providers: [AuditWriter],
  exports: [AuditWriter],
})
export class AuditModule {}

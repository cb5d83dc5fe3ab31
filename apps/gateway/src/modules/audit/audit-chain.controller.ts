import { Readable } from 'node:stream';
import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { ValidationPipe } from '../../common/validation/validation.pipe';
import { RequireVerb } from '../identity/http/access.decorators';
import { StoreService } from '../store/store.service';
import { presentAuditEntry } from './audit-entry.presenter';
import { verifyAuditLog, type AuditVerification } from './audit-verifier';

const exportQuery = z
  .object({
    /** Records at or after this time (ISO 8601). */
    since: z.iso.datetime({ offset: true }).optional(),
    format: z.enum(['jsonl']).default('jsonl'),
  })
  .strict();

const PAGE = 1000;

/** Integrity and export of the audit log: `tollgate audit verify` and `tollgate audit export`. */
@ApiTags('audit')
@Controller('api/v1/audit')
export class AuditChainController {
  constructor(private readonly store: StoreService) {}

  @Get('verify')
  @RequireVerb('audit:read')
  @ApiOperation({
    summary: 'Verify the global and every per-session hash chain; names the first bad record of each',
  })
  verify(): Promise<AuditVerification> {
    return verifyAuditLog(this.store.prisma);
  }

  @Get('export')
  @RequireVerb('audit:read')
  @ApiOperation({ summary: 'Audit records as JSON lines (application/x-ndjson), oldest first' })
  export(
    @Query(ValidationPipe.of(exportQuery)) query: z.output<typeof exportQuery>,
    @Res() reply: FastifyReply,
  ): void {
    const prisma = this.store.prisma;
    const since = query.since ? new Date(query.since) : undefined;
    async function* lines(): AsyncGenerator<string> {
      let after: bigint | undefined;
      for (;;) {
        const rows = await prisma.auditEntry.findMany({
          where: {
            ...(since ? { at: { gte: since } } : {}),
            ...(after !== undefined ? { seq: { gt: after } } : {}),
          },
          orderBy: { seq: 'asc' },
          take: PAGE,
        });
        for (const r of rows) {
          yield `${JSON.stringify(presentAuditEntry(r))}\n`;
        }
        if (rows.length < PAGE) return;
        after = rows.at(-1)!.seq;
      }
    }
    void reply.header('content-type', 'application/x-ndjson; charset=utf-8').send(Readable.from(lines()));
  }
}

import { Readable } from 'node:stream';
import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { ForbiddenError } from '../../common/errors';
import { ValidationPipe } from '../../common/validation/validation.pipe';
import { RequireVerb } from '../identity/http/access.decorators';
import { CurrentPrincipal } from '../identity/http/current-principal.decorator';
import type { Principal } from '../identity/principal';
import { auditEntriesWithin, AuditReadScopes } from '../identity/rbac/audit-read-scope';
import { StoreService } from '../store/store.service';
import { presentAuditEntry } from './audit-entry.presenter';
import { AuditWriter } from './audit-writer';
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
  constructor(
    private readonly store: StoreService,
    private readonly readScopes: AuditReadScopes,
    private readonly audit: AuditWriter,
  ) {}

  @Get('verify')
  @RequireVerb('audit:read')
  @ApiOperation({
    summary:
      'Verify the global and every per-session hash chain; names the first bad record of each. Reads the whole log, so it needs unrestricted audit:read (a role without connections, or with *, and the bare audit:read scope).',
  })
  async verify(@CurrentPrincipal() principal: Principal): Promise<AuditVerification> {
    // The chain check reads (and reports on) every record, whoever's connection it belongs to.
    if (!(await this.readScopes.of(principal)).unrestricted) {
      const reason =
        'audit verify checks the whole log, so it needs audit:read on everything: a role granting audit:read without connections (or with "*") and a token scope of audit:read, not audit:read:<connection>';
      await this.audit
        .record({
          subject: principal.subject,
          actorChain: principal.actorChain,
          action: 'authorize:audit:read',
          target: 'GET /api/v1/audit/verify',
          decision: 'deny',
          reason,
          payload: { tokenId: principal.tokenId },
        })
        .catch(() => undefined);
      throw new ForbiddenError(`audit:read denied: ${reason}`);
    }
    return verifyAuditLog(this.store.prisma);
  }

  @Get('export')
  @RequireVerb('audit:read')
  @ApiOperation({
    summary:
      "Audit records as JSON lines (application/x-ndjson), oldest first; only those the caller's audit:read covers (as GET /api/v1/audit)",
  })
  async export(
    @CurrentPrincipal() principal: Principal,
    @Query(ValidationPipe.of(exportQuery)) query: z.output<typeof exportQuery>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const prisma = this.store.prisma;
    const since = query.since ? new Date(query.since) : undefined;
    const readable = auditEntriesWithin(await this.readScopes.of(principal));
    async function* lines(): AsyncGenerator<string> {
      let after: bigint | undefined;
      for (;;) {
        const rows = await prisma.auditEntry.findMany({
          where: {
            ...(since ? { at: { gte: since } } : {}),
            ...(after !== undefined ? { seq: { gt: after } } : {}),
            AND: [readable],
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

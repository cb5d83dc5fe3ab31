import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ValidationPipe } from '../../common/validation/validation.pipe';
import { RequireVerb } from '../identity/http/access.decorators';
import { StoreService } from '../store/store.service';
import { presentAuditEntry, type AuditEntryView } from './audit-entry.presenter';

const listAuditQuery = z
  .object({
    subject: z.string().min(1).max(300).optional(),
    action: z.string().min(1).max(100).optional(),
    decision: z.enum(['allow', 'deny']).optional(),
    /** Entries after this sequence number (for paging and tailing). */
    after: z.coerce.number().int().min(0).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

type ListAuditQuery = z.output<typeof listAuditQuery>;

@ApiTags('audit')
@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly store: StoreService) {}

  @Get()
  @RequireVerb('audit:read')
  @ApiOperation({ summary: 'Audit records, oldest first (filters: subject, action, decision, after)' })
  async list(
    @Query(ValidationPipe.of(listAuditQuery)) query: ListAuditQuery,
  ): Promise<{ items: AuditEntryView[] }> {
    const rows = await this.store.prisma.auditEntry.findMany({
      where: {
        ...(query.subject ? { subject: query.subject } : {}),
        ...(query.action ? { action: query.action } : {}),
        ...(query.decision ? { decision: query.decision } : {}),
        ...(query.after !== undefined ? { seq: { gt: BigInt(query.after) } } : {}),
      },
      orderBy: { seq: 'asc' },
      take: query.limit,
    });
    return {
      items: rows.map(presentAuditEntry),
    };
  }
}

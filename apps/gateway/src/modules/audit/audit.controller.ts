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
    /** Entries before this sequence number (paging back from the newest). */
    before: z.coerce.number().int().min(1).optional(),
    /** `desc`: newest first. */
    order: z.enum(['asc', 'desc']).default('asc'),
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
  @ApiOperation({
    summary:
      'Audit records, oldest first or newest first with order=desc (filters: subject, action, decision, after, before)',
  })
  async list(
    @Query(ValidationPipe.of(listAuditQuery)) query: ListAuditQuery,
  ): Promise<{ items: AuditEntryView[] }> {
    const rows = await this.store.prisma.auditEntry.findMany({
      where: {
        ...(query.subject ? { subject: query.subject } : {}),
        ...(query.action ? { action: query.action } : {}),
        ...(query.decision ? { decision: query.decision } : {}),
        ...(query.after !== undefined || query.before !== undefined
          ? {
              seq: {
                ...(query.after !== undefined ? { gt: BigInt(query.after) } : {}),
                ...(query.before !== undefined ? { lt: BigInt(query.before) } : {}),
              },
            }
          : {}),
      },
      orderBy: { seq: query.order },
      take: query.limit,
    });
    return {
      items: rows.map(presentAuditEntry),
    };
  }
}

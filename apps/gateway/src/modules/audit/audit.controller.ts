import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ValidationPipe } from '../../common/validation/validation.pipe';
import { RequireVerb } from '../identity/http/access.decorators';
import { CurrentPrincipal } from '../identity/http/current-principal.decorator';
import type { Principal } from '../identity/principal';
import { auditEntriesWithin, AuditReadScopes } from '../identity/rbac/audit-read-scope';
import { subjectNames, subjectsMatching } from '../identity/subjects/subject-names';
import { StoreService } from '../store/store.service';
import { presentAuditEntry, type AuditEntryView } from './audit-entry.presenter';

const listAuditQuery = z
  .object({
    subject: z.string().min(1).max(300).optional(),
    /** A person or account as people name it: a subject, an e-mail, a display name or an account name. */
    who: z.string().min(1).max(300).optional(),
    /** Records at or after this time (ISO 8601). */
    since: z.iso.datetime({ offset: true }).optional(),
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
  constructor(
    private readonly store: StoreService,
    private readonly readScopes: AuditReadScopes,
  ) {}

  @Get()
  @RequireVerb('audit:read')
  @ApiOperation({
    summary:
      "Audit records, oldest first or newest first with order=desc (filters: subject, who (a subject, e-mail or name), action, decision, since, after, before); people are named by e-mail in subjectName. Only the records the caller's audit:read covers: those of its connections, and records bound to no connection for unrestricted readers.",
  })
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query(ValidationPipe.of(listAuditQuery)) query: ListAuditQuery,
  ): Promise<{ items: (AuditEntryView & { subjectName?: string })[] }> {
    const prisma = this.store.prisma;
    const subjects = query.who === undefined ? undefined : await subjectsMatching(prisma, query.who);
    const rows = await prisma.auditEntry.findMany({
      where: {
        ...(query.subject ? { subject: query.subject } : {}),
        ...(query.since ? { at: { gte: new Date(query.since) } } : {}),
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
        // In the query, so a page holds `limit` records the caller may read.
        AND: [
          ...(subjects ? [{ subject: { in: subjects } }] : []),
          auditEntriesWithin(await this.readScopes.of(principal)),
        ],
      },
      orderBy: { seq: query.order },
      take: query.limit,
    });
    const names = await subjectNames(
      prisma,
      rows.map((r) => r.subject),
    );
    return {
      items: rows.map((r) => {
        const name = names.get(r.subject);
        return { ...presentAuditEntry(r), ...(name ? { subjectName: name } : {}) };
      }),
    };
  }
}

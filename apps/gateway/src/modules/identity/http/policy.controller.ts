import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ValidationPipe } from '../../../common/validation/validation.pipe';
import { AuditWriter } from '../../audit/audit-writer';
import type { Principal } from '../principal';
import { ActivePolicyService, type ActivePolicy } from '../rbac/active-policy.service';
import { CurrentPrincipal } from './current-principal.decorator';

const applyPolicy = z
  .object({
    /** The whole policy document (YAML), validated by @tollgate/policy. */
    document: z.string().min(1).max(1_000_000),
    comment: z.string().max(500).optional(),
    /** Named in validation errors (`policy.yaml:3:5: roles[0]...`); the CLI sends the file's name. */
    fileName: z.string().min(1).max(200).optional(),
  })
  .strict();

interface PolicyView {
  readonly version: number | null;
  readonly source: ActivePolicy['source'];
  readonly document: string;
}

/**
 * The active policy (RBAC roles, guardrails, masking, delegation). Minimal for now: apply a whole
 * document as a new version, read the active one. Both require admin.
 */
@ApiTags('policy')
@Controller('api/v1/policy')
export class PolicyController {
  constructor(
    private readonly policies: ActivePolicyService,
    private readonly audit: AuditWriter,
  ) {}

  @Get()
  @ApiOperation({ summary: 'The active policy document and its version (null: the built-in default)' })
  async active(): Promise<PolicyView> {
    const { version, source, document } = await this.policies.current();
    return { version, source, document };
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Apply a policy document (YAML) as the new active version' })
  async apply(
    @CurrentPrincipal() principal: Principal,
    @Body(ValidationPipe.of(applyPolicy)) body: z.output<typeof applyPolicy>,
  ): Promise<PolicyView> {
    const applied = await this.policies.apply(body.document, principal.subject, body.comment, body.fileName);
    await this.audit.record({
      subject: principal.subject,
      actorChain: principal.actorChain,
      action: 'policy:apply',
      target: `policy:v${applied.version}`,
      decision: 'allow',
      reason: body.comment ?? `policy version ${applied.version} applied`,
    });
    return { version: applied.version, source: applied.source, document: applied.document };
  }
}

import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ValidationPipe } from '../../common/validation/validation.pipe';
import { CurrentPrincipal } from '../identity/http/current-principal.decorator';
import type { Principal } from '../identity/principal';
import {
  PolicyVersionsService,
  type DryRunResult,
  type PolicyVersionDetail,
  type PolicyVersionSummary,
} from './policy-versions.service';

const dryRunBody = z
  .object({
    document: z.string().min(1).max(1_000_000),
    fileName: z.string().min(1).max(200).optional(),
  })
  .strict();

const versionParam = z.coerce.number().int().min(1);

/** Policy versions (all admin): history, one version with its diff, restore, dry run. */
@ApiTags('policy')
@Controller('api/v1/policy')
export class PolicyVersionsController {
  constructor(private readonly versions: PolicyVersionsService) {}

  @Get('versions')
  @ApiOperation({ summary: 'Every stored policy version, newest first (author, time, comment, active)' })
  list(): Promise<{ items: PolicyVersionSummary[] }> {
    return this.versions.list();
  }

  @Get('versions/:version')
  @ApiOperation({ summary: 'One version: its document, what changed against the previous one, and the diff' })
  show(@Param('version', ValidationPipe.of(versionParam)) version: number): Promise<PolicyVersionDetail> {
    return this.versions.show(version);
  }

  @Post('versions/:version/restore')
  @HttpCode(201)
  @ApiOperation({ summary: 'Make an old version active again (stored as a new version)' })
  async restore(
    @CurrentPrincipal() principal: Principal,
    @Param('version', ValidationPipe.of(versionParam)) version: number,
  ): Promise<{ version: number | null; restoredFrom: number }> {
    const applied = await this.versions.restore(version, principal);
    return { version: applied.version, restoredFrom: version };
  }

  @Post('dry-run')
  @HttpCode(200)
  @ApiOperation({ summary: 'What applying a document would change, and which live sessions it would affect' })
  dryRun(@Body(ValidationPipe.of(dryRunBody)) body: z.output<typeof dryRunBody>): Promise<DryRunResult> {
    return this.versions.dryRun(body.document, body.fileName);
  }
}

import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ValidationPipe } from '../../../common/validation/validation.pipe';
import {
  ServiceAccountsService,
  type ServiceAccountView,
} from '../service-accounts/service-accounts.service';

const name = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,62}$/,
    'lower-case letters, digits, . _ - (up to 63, starting alphanumeric)',
  );
const group = z.string().min(1).max(200);

const createServiceAccount = z
  .object({ name, description: z.string().max(500).optional(), groups: z.array(group).max(100).default([]) })
  .strict();
const updateServiceAccount = z
  .object({ disabled: z.boolean().optional(), groups: z.array(group).max(100).optional() })
  .strict();

/** Admin API for service accounts (machine identities). Every route requires `admin`. */
@ApiTags('service-accounts')
@Controller('api/v1/service-accounts')
export class ServiceAccountsController {
  constructor(private readonly accounts: ServiceAccountsService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a service account; the client secret is shown in this response only' })
  async create(
    @Body(ValidationPipe.of(createServiceAccount)) body: z.output<typeof createServiceAccount>,
  ): Promise<ServiceAccountView & { clientSecret: string }> {
    const { account, clientSecret } = await this.accounts.create(body);
    return { ...account, clientSecret };
  }

  @Get()
  @ApiOperation({ summary: 'List service accounts' })
  async list(): Promise<{ items: ServiceAccountView[] }> {
    return { items: await this.accounts.list() };
  }

  @Get(':name')
  get(@Param('name') ref: string): Promise<ServiceAccountView> {
    return this.accounts.get(ref);
  }

  @Patch(':name')
  @ApiOperation({ summary: 'Disable/enable a service account or set its groups' })
  update(
    @Param('name') ref: string,
    @Body(ValidationPipe.of(updateServiceAccount)) body: z.output<typeof updateServiceAccount>,
  ): Promise<ServiceAccountView> {
    return this.accounts.update(ref, body);
  }

  @Delete(':name')
  @HttpCode(204)
  async remove(@Param('name') ref: string): Promise<void> {
    await this.accounts.remove(ref);
  }
}

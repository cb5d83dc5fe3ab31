import { Body, Controller, Delete, Get, HttpCode, Ip, Param, Patch, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ValidationPipe } from '../../common/validation/validation.pipe';
import { problemResponse, requestSchema } from '../../openapi/json-schema';
import { Authenticated } from '../identity/http/access.decorators';
import { CurrentPrincipal } from '../identity/http/current-principal.decorator';
import type { Principal } from '../identity/principal';
import { RegistrationAccess } from '../identity/rbac/registration-access';
import type { AgentView } from './agent.presenter';
import type { AgentTokenView } from './agent-token.presenter';
import {
  createAgentSchema,
  issueAgentTokenSchema,
  updateAgentSchema,
  type CreateAgentInput,
  type IssueAgentTokenInput,
  type UpdateAgentInput,
} from './agent.schemas';
import { CreateAgentUseCase } from './usecases/create-agent.usecase';
import { DeleteAgentUseCase } from './usecases/delete-agent.usecase';
import { GetAgentUseCase } from './usecases/get-agent.usecase';
import { IssueAgentTokenUseCase, type IssuedAgentToken } from './usecases/issue-agent-token.usecase';
import { ListAgentTokensUseCase } from './usecases/list-agent-tokens.usecase';
import { RevokeAgentTokenUseCase } from './usecases/revoke-agent-token.usecase';
import { ListAgentsUseCase } from './usecases/list-agents.usecase';
import { UpdateAgentUseCase } from './usecases/update-agent.usecase';

@ApiTags('agents')
@ApiResponse({ status: 400, ...problemResponse })
@Controller('api/v1/agents')
export class AgentsController {
  constructor(
    private readonly createAgent: CreateAgentUseCase,
    private readonly listAgents: ListAgentsUseCase,
    private readonly getAgent: GetAgentUseCase,
    private readonly updateAgent: UpdateAgentUseCase,
    private readonly deleteAgent: DeleteAgentUseCase,
    private readonly issueToken: IssueAgentTokenUseCase,
    private readonly listTokens: ListAgentTokensUseCase,
    private readonly revokeToken: RevokeAgentTokenUseCase,
    private readonly registration: RegistrationAccess,
  ) {}

  @Post()
  @HttpCode(201)
  @Authenticated()
  @ApiOperation({
    summary:
      'Register an agent; the response carries its first token, shown only once (admin, or register covering its name or labels)',
  })
  @ApiBody({ schema: requestSchema(createAgentSchema) })
  @ApiResponse({ status: 403, ...problemResponse })
  @ApiResponse({ status: 409, ...problemResponse })
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body(ValidationPipe.of(createAgentSchema)) body: CreateAgentInput,
    @Ip() source: string,
  ): Promise<AgentView & { token: string }> {
    await this.registration.authorize(
      principal,
      'POST /api/v1/agents',
      [{ kind: 'agent', name: body.name, tags: body.labels }],
      source,
    );
    return this.createAgent.execute(body, principal);
  }

  @Get()
  @ApiOperation({ summary: 'List agents with their status' })
  list(): Promise<{ items: AgentView[] }> {
    return this.listAgents.execute();
  }

  @Get(':ref')
  @ApiOperation({ summary: 'Get an agent by id or name' })
  @ApiResponse({ status: 404, ...problemResponse })
  get(@Param('ref') ref: string): Promise<AgentView> {
    return this.getAgent.execute(ref);
  }

  @Patch(':ref')
  @Authenticated()
  @ApiOperation({
    summary:
      'Update the named fields of an agent (admin, or register covering it as it is and as it will be)',
  })
  @ApiBody({ schema: requestSchema(updateAgentSchema) })
  @ApiResponse({ status: 403, ...problemResponse })
  @ApiResponse({ status: 404, ...problemResponse })
  @ApiResponse({ status: 409, ...problemResponse })
  async update(
    @Param('ref') ref: string,
    @Body(ValidationPipe.of(updateAgentSchema)) body: UpdateAgentInput,
    @CurrentPrincipal() principal: Principal,
    @Ip() source: string,
  ): Promise<AgentView> {
    const current = await this.getAgent.execute(ref);
    await this.registration.authorize(
      principal,
      'PATCH /api/v1/agents/{ref}',
      [
        { kind: 'agent', name: current.name, tags: current.labels },
        { kind: 'agent', name: body.name ?? current.name, tags: body.labels ?? current.labels },
      ],
      source,
    );
    return this.updateAgent.execute(ref, body);
  }

  @Delete(':ref')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({
    summary: 'Delete an agent (its connections stay, unassigned from it); admin, or register covering it',
  })
  @ApiResponse({ status: 403, ...problemResponse })
  @ApiResponse({ status: 404, ...problemResponse })
  async remove(
    @CurrentPrincipal() principal: Principal,
    @Param('ref') ref: string,
    @Ip() source: string,
  ): Promise<void> {
    await this.authorizeExisting(principal, ref, 'DELETE /api/v1/agents/{ref}', source);
    await this.deleteAgent.execute(ref, principal);
  }

  @Post(':ref/tokens')
  @HttpCode(201)
  @Authenticated()
  @ApiOperation({
    summary:
      'Issue a new agent token (shown once); with revokeOthers, a rotation that cuts old streams (admin, or register covering the agent)',
  })
  @ApiBody({ schema: requestSchema(issueAgentTokenSchema) })
  @ApiResponse({ status: 403, ...problemResponse })
  @ApiResponse({ status: 404, ...problemResponse })
  async issue(
    @CurrentPrincipal() principal: Principal,
    @Param('ref') ref: string,
    @Body(ValidationPipe.of(issueAgentTokenSchema)) body: IssueAgentTokenInput,
    @Ip() source: string,
  ): Promise<IssuedAgentToken> {
    await this.authorizeExisting(principal, ref, 'POST /api/v1/agents/{ref}/tokens', source);
    return this.issueToken.execute(ref, body, principal);
  }

  @Get(':ref/tokens')
  @ApiOperation({ summary: "List an agent's tokens (prefix and status; never the token)" })
  @ApiResponse({ status: 404, ...problemResponse })
  tokens(@Param('ref') ref: string): Promise<{ items: AgentTokenView[] }> {
    return this.listTokens.execute(ref);
  }

  @Post(':ref/tokens/:token/revoke')
  @HttpCode(200)
  @Authenticated()
  @ApiOperation({
    summary:
      'Revoke an agent token (by id or prefix); its live streams are cut at once (admin, or register covering the agent)',
  })
  @ApiResponse({ status: 403, ...problemResponse })
  @ApiResponse({ status: 404, ...problemResponse })
  async revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('ref') ref: string,
    @Param('token') token: string,
    @Ip() source: string,
  ): Promise<AgentTokenView> {
    await this.authorizeExisting(principal, ref, 'POST /api/v1/agents/{ref}/tokens/{token}/revoke', source);
    return this.revokeToken.execute(ref, token, principal);
  }

  private async authorizeExisting(principal: Principal, ref: string, resource: string, source: string) {
    const agent = await this.getAgent.execute(ref);
    await this.registration.authorize(
      principal,
      resource,
      [{ kind: 'agent', name: agent.name, tags: agent.labels }],
      source,
    );
  }
}

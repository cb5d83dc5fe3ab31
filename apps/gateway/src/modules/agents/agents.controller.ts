import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ValidationPipe } from '../../common/validation/validation.pipe';
import { problemResponse, requestSchema } from '../../openapi/json-schema';
import { CurrentPrincipal } from '../identity/http/current-principal.decorator';
import type { Principal } from '../identity/principal';
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
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Register an agent; the response carries its first token, shown only once' })
  @ApiBody({ schema: requestSchema(createAgentSchema) })
  @ApiResponse({ status: 409, ...problemResponse })
  create(
    @CurrentPrincipal() principal: Principal,
    @Body(ValidationPipe.of(createAgentSchema)) body: CreateAgentInput,
  ): Promise<AgentView & { token: string }> {
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
  @ApiOperation({ summary: 'Update the named fields of an agent' })
  @ApiBody({ schema: requestSchema(updateAgentSchema) })
  @ApiResponse({ status: 404, ...problemResponse })
  @ApiResponse({ status: 409, ...problemResponse })
  update(
    @Param('ref') ref: string,
    @Body(ValidationPipe.of(updateAgentSchema)) body: UpdateAgentInput,
  ): Promise<AgentView> {
    return this.updateAgent.execute(ref, body);
  }

  @Delete(':ref')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an agent (its connections stay, unassigned from it)' })
  @ApiResponse({ status: 404, ...problemResponse })
  async remove(@CurrentPrincipal() principal: Principal, @Param('ref') ref: string): Promise<void> {
    await this.deleteAgent.execute(ref, principal);
  }

  @Post(':ref/tokens')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Issue a new agent token (shown once); with revokeOthers, a rotation that cuts old streams',
  })
  @ApiBody({ schema: requestSchema(issueAgentTokenSchema) })
  @ApiResponse({ status: 404, ...problemResponse })
  issue(
    @CurrentPrincipal() principal: Principal,
    @Param('ref') ref: string,
    @Body(ValidationPipe.of(issueAgentTokenSchema)) body: IssueAgentTokenInput,
  ): Promise<IssuedAgentToken> {
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
  @ApiOperation({ summary: 'Revoke an agent token (by id or prefix); its live streams are cut at once' })
  @ApiResponse({ status: 404, ...problemResponse })
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('ref') ref: string,
    @Param('token') token: string,
  ): Promise<AgentTokenView> {
    return this.revokeToken.execute(ref, token, principal);
  }
}

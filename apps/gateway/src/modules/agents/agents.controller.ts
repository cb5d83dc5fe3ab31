import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ValidationPipe } from '../../common/validation/validation.pipe';
import { problemResponse, requestSchema } from '../../openapi/json-schema';
import type { AgentView } from './agent.presenter';
import {
  createAgentSchema,
  updateAgentSchema,
  type CreateAgentInput,
  type UpdateAgentInput,
} from './agent.schemas';
import { CreateAgentUseCase } from './usecases/create-agent.usecase';
import { DeleteAgentUseCase } from './usecases/delete-agent.usecase';
import { GetAgentUseCase } from './usecases/get-agent.usecase';
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
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Register an agent' })
  @ApiBody({ schema: requestSchema(createAgentSchema) })
  @ApiResponse({ status: 409, ...problemResponse })
  create(@Body(ValidationPipe.of(createAgentSchema)) body: CreateAgentInput): Promise<AgentView> {
    return this.createAgent.execute(body);
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
  async remove(@Param('ref') ref: string): Promise<void> {
    await this.deleteAgent.execute(ref);
  }
}

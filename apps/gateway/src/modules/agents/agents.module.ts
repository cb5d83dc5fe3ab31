import { Module } from '@nestjs/common';
import { AgentsController } from './agents.controller';
import { CreateAgentUseCase } from './usecases/create-agent.usecase';
import { DeleteAgentUseCase } from './usecases/delete-agent.usecase';
import { GetAgentUseCase } from './usecases/get-agent.usecase';
import { ListAgentsUseCase } from './usecases/list-agents.usecase';
import { UpdateAgentUseCase } from './usecases/update-agent.usecase';

@Module({
  controllers: [AgentsController],
  providers: [CreateAgentUseCase, ListAgentsUseCase, GetAgentUseCase, UpdateAgentUseCase, DeleteAgentUseCase],
})
export class AgentsModule {}

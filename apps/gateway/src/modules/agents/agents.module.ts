import { Module } from '@nestjs/common';
import { AgentTokenAudit } from './agent-token-audit';
import { AgentsController } from './agents.controller';
import { CreateAgentUseCase } from './usecases/create-agent.usecase';
import { DeleteAgentUseCase } from './usecases/delete-agent.usecase';
import { EnsureAgentTokenUseCase } from './usecases/ensure-agent-token.usecase';
import { GetAgentUseCase } from './usecases/get-agent.usecase';
import { IssueAgentTokenUseCase } from './usecases/issue-agent-token.usecase';
import { ListAgentTokensUseCase } from './usecases/list-agent-tokens.usecase';
import { RevokeAgentTokenUseCase } from './usecases/revoke-agent-token.usecase';
import { ListAgentsUseCase } from './usecases/list-agents.usecase';
import { UpdateAgentUseCase } from './usecases/update-agent.usecase';

@Module({
  controllers: [AgentsController],
  providers: [
    AgentTokenAudit,
    CreateAgentUseCase,
    ListAgentsUseCase,
    GetAgentUseCase,
    UpdateAgentUseCase,
    DeleteAgentUseCase,
    IssueAgentTokenUseCase,
    ListAgentTokensUseCase,
    RevokeAgentTokenUseCase,
    EnsureAgentTokenUseCase,
  ],
})
export class AgentsModule {}

import { Module } from '@nestjs/common';
import { ConnectionsController } from './connections.controller';
import { CheckConnectAccessUseCase } from './usecases/check-connect-access.usecase';
import { CreateConnectionUseCase } from './usecases/create-connection.usecase';
import { DeleteConnectionUseCase } from './usecases/delete-connection.usecase';
import { DescribeConnectionReachUseCase } from './usecases/describe-connection-reach.usecase';
import { GetConnectionUseCase } from './usecases/get-connection.usecase';
import { ListConnectionsUseCase } from './usecases/list-connections.usecase';
import { RunQueryUseCase } from './usecases/run-query.usecase';
import { TestConnectionUseCase } from './usecases/test-connection.usecase';
import { UpdateConnectionUseCase } from './usecases/update-connection.usecase';

@Module({
  controllers: [ConnectionsController],
  providers: [
    CreateConnectionUseCase,
    ListConnectionsUseCase,
    GetConnectionUseCase,
    UpdateConnectionUseCase,
    DeleteConnectionUseCase,
    CheckConnectAccessUseCase,
    DescribeConnectionReachUseCase,
    TestConnectionUseCase,
    RunQueryUseCase,
  ],
})
export class ConnectionsModule {}

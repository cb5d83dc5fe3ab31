import { Module } from '@nestjs/common';
import { ConnectionsController } from './connections.controller';
import { CheckConnectAccessUseCase } from './usecases/check-connect-access.usecase';
import { CreateConnectionUseCase } from './usecases/create-connection.usecase';
import { DeleteConnectionUseCase } from './usecases/delete-connection.usecase';
import { GetConnectionUseCase } from './usecases/get-connection.usecase';
import { ListConnectionsUseCase } from './usecases/list-connections.usecase';
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
  ],
})
export class ConnectionsModule {}

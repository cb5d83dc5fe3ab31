import { Body, Controller, Delete, Get, HttpCode, Ip, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ValidationPipe } from '../../common/validation/validation.pipe';
import { oneOfRequestSchemas, problemResponse, requestSchema } from '../../openapi/json-schema';
import {
  createConnectionVariants,
  listConnectionsQuery,
  updateConnectionSchema,
  validateCreateConnection,
  type CreateConnectionInput,
  type ListConnectionsQuery,
  type UpdateConnectionInput,
} from './connection.schemas';
import type { ConnectionView } from './connection.presenter';
import { Authenticated } from '../identity/http/access.decorators';
import { CurrentPrincipal } from '../identity/http/current-principal.decorator';
import type { Principal } from '../identity/principal';
import { CheckConnectAccessUseCase, type ConnectAccessView } from './usecases/check-connect-access.usecase';
import { CreateConnectionUseCase } from './usecases/create-connection.usecase';
import { DeleteConnectionUseCase } from './usecases/delete-connection.usecase';
import { GetConnectionUseCase } from './usecases/get-connection.usecase';
import { ListConnectionsUseCase } from './usecases/list-connections.usecase';
import { UpdateConnectionUseCase } from './usecases/update-connection.usecase';

@ApiTags('connections')
@ApiResponse({ status: 400, ...problemResponse })
@Controller('api/v1/connections')
export class ConnectionsController {
  constructor(
    private readonly createConnection: CreateConnectionUseCase,
    private readonly listConnections: ListConnectionsUseCase,
    private readonly getConnection: GetConnectionUseCase,
    private readonly updateConnection: UpdateConnectionUseCase,
    private readonly deleteConnection: DeleteConnectionUseCase,
    private readonly checkConnectAccess: CheckConnectAccessUseCase,
  ) {}

  @Get(':ref/access')
  @Authenticated()
  @ApiOperation({
    summary: "Whether the caller may connect, and the connection's protocol (any signed-in caller)",
  })
  @ApiResponse({ status: 404, ...problemResponse })
  access(
    @Param('ref') ref: string,
    @CurrentPrincipal() principal: Principal,
    @Ip() source: string,
  ): Promise<ConnectAccessView> {
    return this.checkConnectAccess.execute(ref, principal, source);
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Register a connection (a resource reached through agents)' })
  @ApiBody({ schema: oneOfRequestSchemas(createConnectionVariants) })
  @ApiResponse({ status: 201, description: 'the created connection' })
  @ApiResponse({ status: 409, ...problemResponse })
  create(
    @Body(new ValidationPipe(validateCreateConnection)) body: CreateConnectionInput,
  ): Promise<ConnectionView> {
    return this.createConnection.execute(body);
  }

  @Get()
  @ApiOperation({ summary: 'List connections, optionally by protocol or tag (key=value)' })
  list(
    @Query(ValidationPipe.of(listConnectionsQuery)) query: ListConnectionsQuery,
  ): Promise<{ items: ConnectionView[] }> {
    return this.listConnections.execute(query);
  }

  @Get(':ref')
  @ApiOperation({ summary: 'Get a connection by id or name' })
  @ApiResponse({ status: 404, ...problemResponse })
  get(@Param('ref') ref: string): Promise<ConnectionView> {
    return this.getConnection.execute(ref);
  }

  @Patch(':ref')
  @ApiOperation({ summary: 'Update the named fields of a connection (the protocol never changes)' })
  @ApiBody({ schema: requestSchema(updateConnectionSchema) })
  @ApiResponse({ status: 404, ...problemResponse })
  @ApiResponse({ status: 409, ...problemResponse })
  update(
    @Param('ref') ref: string,
    @Body(ValidationPipe.of(updateConnectionSchema)) body: UpdateConnectionInput,
  ): Promise<ConnectionView> {
    return this.updateConnection.execute(ref, body);
  }

  @Delete(':ref')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a connection' })
  @ApiResponse({ status: 404, ...problemResponse })
  async remove(@Param('ref') ref: string): Promise<void> {
    await this.deleteConnection.execute(ref);
  }
}

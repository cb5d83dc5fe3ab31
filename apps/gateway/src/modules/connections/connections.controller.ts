import { Body, Controller, Delete, Get, HttpCode, Ip, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ValidationPipe } from '../../common/validation/validation.pipe';
import { oneOfRequestSchemas, problemResponse, requestSchema } from '../../openapi/json-schema';
import {
  createConnectionVariants,
  listConnectionsQuery,
  runQuerySchema,
  updateConnectionSchema,
  validateCreateConnection,
  type CreateConnectionInput,
  type ListConnectionsQuery,
  type RunQueryBody,
  type UpdateConnectionInput,
} from './connection.schemas';
import type { ConnectionView } from './connection.presenter';
import { Authenticated } from '../identity/http/access.decorators';
import { CurrentPrincipal } from '../identity/http/current-principal.decorator';
import type { Principal } from '../identity/principal';
import { CheckConnectAccessUseCase, type ConnectAccessView } from './usecases/check-connect-access.usecase';
import { CreateConnectionUseCase } from './usecases/create-connection.usecase';
import { DeleteConnectionUseCase } from './usecases/delete-connection.usecase';
import {
  DescribeConnectionReachUseCase,
  type ConnectionReachView,
} from './usecases/describe-connection-reach.usecase';
import { GetConnectionUseCase } from './usecases/get-connection.usecase';
import { ListConnectionsUseCase } from './usecases/list-connections.usecase';
import { RunQueryUseCase } from './usecases/run-query.usecase';
import { TestConnectionUseCase, type ConnectionTestView } from './usecases/test-connection.usecase';
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
    private readonly describeReach: DescribeConnectionReachUseCase,
    private readonly testConnection: TestConnectionUseCase,
    private readonly runQuery: RunQueryUseCase,
  ) {}

  @Get(':ref/reach')
  @ApiOperation({
    summary:
      'Who can reach a connection and with which verbs: the covering roles, the known users and service accounts they resolve to, and unexpired grants',
  })
  @ApiResponse({ status: 404, ...problemResponse })
  reach(@Param('ref') ref: string): Promise<ConnectionReachView> {
    return this.describeReach.execute(ref);
  }

  @Post(':ref/test')
  @HttpCode(200)
  @Authenticated()
  @ApiOperation({
    summary:
      'Test reachability as the caller: open a session (connect) through an agent to the target and, for PostgreSQL, log in and out; a failed test is a 200 with reachable=false',
  })
  @ApiResponse({ status: 404, ...problemResponse })
  test(
    @Param('ref') ref: string,
    @CurrentPrincipal() principal: Principal,
    @Ip() source: string,
  ): Promise<ConnectionTestView> {
    return this.testConnection.execute(ref, principal, source);
  }

  @Post(':ref/query')
  @Authenticated()
  @ApiOperation({
    summary:
      'Run SQL on a PostgreSQL connection as the caller (exec), through the session pipeline: guardrails, approvals and masking apply. Streams JSON lines: session, notice, result, done or error',
  })
  @ApiBody({ schema: requestSchema(runQuerySchema) })
  @ApiProduces('application/x-ndjson')
  @ApiResponse({ status: 403, ...problemResponse })
  @ApiResponse({ status: 404, ...problemResponse })
  @ApiResponse({ status: 502, ...problemResponse })
  @ApiResponse({ status: 503, ...problemResponse })
  async query(
    @Param('ref') ref: string,
    @Body(ValidationPipe.of(runQuerySchema)) body: RunQueryBody,
    @CurrentPrincipal() principal: Principal,
    @Ip() source: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { events, cancel } = await this.runQuery.execute(ref, body, principal, source);
    // The caller going away ends the session (and a statement waiting for review with it).
    reply.raw.once('close', () => {
      if (!events.readableEnded) cancel();
    });
    void reply
      .status(200)
      .header('content-type', 'application/x-ndjson; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(events);
  }

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

import { Body, Controller, Delete, Get, HttpCode, Ip, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { applyMergePatch } from '../../common/json-merge-patch';
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
import { RegistrationAccess, type RegistrationTarget } from '../identity/rbac/registration-access';
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
    private readonly registration: RegistrationAccess,
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
  @Authenticated()
  @ApiOperation({
    summary:
      'Register a connection (a resource reached through agents); needs admin, or register covering the connection and each of its agents',
  })
  @ApiBody({ schema: oneOfRequestSchemas(createConnectionVariants) })
  @ApiResponse({ status: 201, description: 'the created connection' })
  @ApiResponse({ status: 403, ...problemResponse })
  @ApiResponse({ status: 409, ...problemResponse })
  async create(
    @Body(new ValidationPipe(validateCreateConnection)) body: CreateConnectionInput,
    @CurrentPrincipal() principal: Principal,
    @Ip() source: string,
  ): Promise<ConnectionView> {
    await this.registration.authorize(
      principal,
      'POST /api/v1/connections',
      [
        { kind: 'connection', name: body.name, tags: body.tags ?? {}, protocol: body.protocol },
        ...agentTargets(body.agents ?? []),
      ],
      source,
    );
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
  @Authenticated()
  @ApiOperation({
    summary:
      'Update the named fields of a connection (the protocol never changes); needs admin, or register covering it as it is and as it will be, and its agents',
  })
  @ApiBody({ schema: requestSchema(updateConnectionSchema) })
  @ApiResponse({ status: 403, ...problemResponse })
  @ApiResponse({ status: 404, ...problemResponse })
  @ApiResponse({ status: 409, ...problemResponse })
  async update(
    @Param('ref') ref: string,
    @Body(ValidationPipe.of(updateConnectionSchema)) body: UpdateConnectionInput,
    @CurrentPrincipal() principal: Principal,
    @Ip() source: string,
  ): Promise<ConnectionView> {
    const current = await this.getConnection.execute(ref);
    await this.registration.authorize(
      principal,
      'PATCH /api/v1/connections/{ref}',
      [
        connectionTarget(current),
        connectionTarget({
          ...current,
          name: body.name ?? current.name,
          // The tags as the merge patch will leave them (null removes one).
          tags: (body.tags === undefined ? current.tags : applyMergePatch(current.tags, body.tags)) as Record<
            string,
            string
          >,
        }),
        ...agentTargets(body.agents ?? current.agents.map((a) => a.name)),
      ],
      source,
    );
    return this.updateConnection.execute(ref, body);
  }

  @Delete(':ref')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({ summary: 'Delete a connection; needs admin, or register covering it' })
  @ApiResponse({ status: 403, ...problemResponse })
  @ApiResponse({ status: 404, ...problemResponse })
  async remove(
    @Param('ref') ref: string,
    @CurrentPrincipal() principal: Principal,
    @Ip() source: string,
  ): Promise<void> {
    const current = await this.getConnection.execute(ref);
    await this.registration.authorize(
      principal,
      'DELETE /api/v1/connections/{ref}',
      [connectionTarget(current)],
      source,
    );
    await this.deleteConnection.execute(ref);
  }
}

function connectionTarget(
  connection: Pick<ConnectionView, 'name' | 'tags' | 'protocol'>,
): RegistrationTarget {
  return { kind: 'connection', name: connection.name, tags: connection.tags, protocol: connection.protocol };
}

/** The agents a connection is to be served by (RegistrationAccess reads their labels). */
function agentTargets(names: readonly string[]): RegistrationTarget[] {
  return names.map((name) => ({ kind: 'agent', name }));
}

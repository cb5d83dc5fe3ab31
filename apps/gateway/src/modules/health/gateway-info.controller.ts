import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../identity/http/access.decorators';
import { OidcRelyingPartyService } from '../identity/oidc/oidc-relying-party.service';
import { GATEWAY_VERSION } from '../../version';

/** Where the gateway's gRPC endpoint listens, as set at start-up. */
export class GrpcEndpoint {
  constructor(
    /** host:port as bound (`0.0.0.0:8010`, `127.0.0.1:8010`, `[::1]:8010`). */
    readonly address: string,
    readonly tls: boolean,
  ) {}
}

export interface GatewayInfoView {
  readonly version: string;
  /** The URL users reach the HTTP API and console at. */
  readonly publicUrl: string;
  /** What agents and `tollgate connect` dial (`--gateway`, `--grpc`). */
  readonly grpcUrl: string;
}

/** What a client needs to know about this gateway (the console prints the agent command from it). */
@ApiTags('gateway')
@Controller('api/v1/gateway')
export class GatewayInfoController {
  constructor(
    private readonly grpc: GrpcEndpoint,
    private readonly rp: OidcRelyingPartyService,
  ) {}

  @Get()
  @Authenticated()
  @ApiOperation({ summary: 'Version, public URL and gRPC URL of this gateway (any signed-in caller)' })
  info(): GatewayInfoView {
    const publicUrl = this.rp.publicBaseUrl;
    return { version: GATEWAY_VERSION, publicUrl, grpcUrl: grpcUrl(this.grpc, publicUrl) };
  }
}

/** A wildcard bind address is not something to dial: the public URL's host name stands in for it. */
export function grpcUrl(endpoint: GrpcEndpoint, publicUrl: string): string {
  const port = endpoint.address.slice(endpoint.address.lastIndexOf(':') + 1);
  let host = endpoint.address.slice(0, endpoint.address.lastIndexOf(':'));
  if (host === '0.0.0.0' || host === '[::]') {
    try {
      host = new URL(publicUrl).hostname;
    } catch {
      host = '127.0.0.1';
    }
  }
  return `${endpoint.tls ? 'https' : 'http'}://${host}:${port}`;
}

import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

export const OPENAPI_PATH = '/api/v1/openapi.json';

export function buildOpenApiDocument(app: INestApplication, version: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Tollgate API')
    .setDescription(
      'Control plane of the Tollgate access gateway. Errors are application/problem+json (RFC 9457).',
    )
    .setVersion(version)
    .build();
  return SwaggerModule.createDocument(app, config);
}

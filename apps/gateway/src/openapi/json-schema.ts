import type { OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';

type SchemaObject = Exclude<
  NonNullable<NonNullable<OpenAPIObject['components']>['schemas']>[string],
  { $ref: string }
>;

/** The OpenAPI document describes request bodies with the same zod schemas that validate them. */
export function requestSchema(schema: z.ZodType): SchemaObject {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return rest as SchemaObject;
}

export function oneOfRequestSchemas(schemas: readonly z.ZodType[]): SchemaObject {
  return { oneOf: schemas.map(requestSchema) };
}

export const problemResponse = {
  description: 'application/problem+json (RFC 9457); `errors` names each bad field',
  content: {
    'application/problem+json': {
      schema: {
        type: 'object',
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          instance: { type: 'string' },
          errors: {
            type: 'array',
            items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
          },
        },
      },
    },
  },
};

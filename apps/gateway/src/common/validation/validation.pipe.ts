import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { ValidationError } from '../errors';
import { zodValidator, type Validator } from './validator';

/** Validates a request part (body, query); a failure becomes a 400 problem naming each field. */
export class ValidationPipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly validate: Validator<T>) {}

  static of<S extends z.ZodType>(schema: S): ValidationPipe<z.output<S>> {
    return new ValidationPipe(zodValidator(schema));
  }

  transform(value: unknown): T {
    // A missing or non-object JSON body (e.g. `null`, `[]`, `"x"`) is reported as a whole.
    const result = this.validate(value === undefined ? {} : value);
    if (result.ok) return result.value;
    throw new ValidationError(result.problems);
  }
}

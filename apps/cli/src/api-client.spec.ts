import { describe, expect, it } from 'vitest';
import { ApiCallError } from './api-client';

describe('ApiCallError: what the CLI prints for a refused API call', () => {
  it('says a validation error once when the detail already carries it', () => {
    const message = 'bad.yaml:2:1: rules: unknown key "rules": did you mean "roles"?';
    const error = new ApiCallError(400, {
      title: 'Bad Request',
      detail: `document.rules: ${message}`,
      errors: [{ field: 'document.rules', message }],
    });
    expect(error.message).toBe(`Bad Request (400): document.rules: ${message}`);
  });

  it('adds the field errors the detail does not name', () => {
    const error = new ApiCallError(400, {
      title: 'Bad Request',
      detail: 'the connection is invalid',
      errors: [
        { field: 'target.port', message: 'must be 1-65535' },
        { field: 'name', message: 'must be a DNS label' },
      ],
    });
    expect(error.message).toBe(
      'Bad Request (400): the connection is invalid: target.port: must be 1-65535; name: must be a DNS label',
    );
  });
});

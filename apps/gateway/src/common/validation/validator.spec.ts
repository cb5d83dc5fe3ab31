import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { zodValidator } from './validator';

describe('zodValidator: problems in words, one per field and message', () => {
  const schema = z
    .object({
      name: z.string(),
      target: z.object({ host: z.string(), port: z.number() }).nonoptional(),
    })
    .strict();
  const validate = zodValidator(schema);

  it('says a missing field is required, once', () => {
    expect(validate({ name: 'x' })).toEqual({
      ok: false,
      problems: [{ field: 'target', message: 'required' }],
    });
    expect(validate({ name: 'x', target: { host: 'h' } })).toEqual({
      ok: false,
      problems: [{ field: 'target.port', message: 'required' }],
    });
  });

  it('keeps what a present but wrong value is, and names unknown fields', () => {
    expect(validate({ name: 'x', target: { host: 'h', port: '5432' }, extra: 1 })).toEqual({
      ok: false,
      problems: [
        { field: 'target.port', message: 'Invalid input: expected number, received string' },
        { field: 'extra', message: 'unknown field' },
      ],
    });
  });

  it('says how to send a body that is not a JSON object', () => {
    const result = validate('hello');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems[0]?.message).toMatch(
      /send a JSON object with content-type: application\/json/,
    );
  });
});

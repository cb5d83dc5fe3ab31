import { parsePolicy, type Policy } from '@tollgate/policy';
import type pg from 'pg';

/** For tests: a policy from YAML, or the test fails naming the errors. */
export function testPolicy(text: string): Policy {
  const parsed = parsePolicy(text, 'test.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.policy;
}

/** For tests: the error a query gets (SQLSTATE and message), or undefined when it succeeds. */
export async function refusal(
  client: pg.Client,
  sql: string,
): Promise<{ code?: string; message: string } | undefined> {
  try {
    await client.query(sql);
    return undefined;
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    return { code, message };
  }
}

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Command } from 'commander';
import type { ApiClient } from '../../api-client';
import { ApiCallError } from '../../api-client';
import {
  findConnection,
  planConnection,
  type ConnectionPlan,
  type DesiredConnection,
} from '../../resources/connection-plan';
import { connectionWarnings } from '../../resources/connection-warnings';
import {
  parseResourceDocuments,
  type AgentDocument,
  type ConnectionDocument,
  type PolicyDocument,
} from '../../resources/resource-documents';
import { printDryRun, type DryRun } from './policy-apply.command';
import { runAdmin } from './run-admin';

interface Flags {
  file: string;
  dryRun?: boolean;
  comment?: string;
}

/**
 * `tollgate admin apply -f FILE [--dry-run]`: agents, connections and the policy as files,
 * declaratively: each document is made so (created, or changed in exactly what differs), and a
 * document already true is left alone, so applying a file twice changes nothing the second time.
 */
export function applyCommand(): Command {
  return new Command('apply')
    .description(
      'apply agent, connection and policy documents (YAML, --- between them): create or change what differs, leave the rest; --dry-run shows what would change',
    )
    .requiredOption(
      '-f, --file <path>',
      'the documents (kind: agent | connection; a document without kind is the policy)',
    )
    .option('--dry-run', 'print what would change; change nothing')
    .option('-m, --comment <text>', 'why (stored with a new policy version)')
    .action((flags: Flags, command: Command) =>
      runAdmin(command, async (api: ApiClient) => {
        let text: string;
        try {
          text = readFileSync(flags.file, 'utf8');
        } catch (error) {
          throw new TypeError(`cannot read ${flags.file}`, { cause: error });
        }
        const documents = parseResourceDocuments(text);
        // Agents first: connections name the agents that serve them.
        for (const doc of documents) if (doc.kind === 'agent') await applyAgent(api, doc, flags);
        const connections = documents.filter((d): d is ConnectionDocument => d.kind === 'connection');
        if (connections.length > 0) {
          const { validateCreateConnection } = await import('@tollgate/gateway/connection-schemas');
          for (const doc of connections) await applyConnection(api, doc, flags, validateCreateConnection);
        }
        for (const doc of documents) if (doc.kind === 'policy') await applyPolicy(api, doc, flags);
      }),
    );
}

type Validate = typeof import('@tollgate/gateway/connection-schemas').validateCreateConnection;

async function applyConnection(api: ApiClient, doc: ConnectionDocument, flags: Flags, validate: Validate) {
  const checked = validate(doc.body);
  if (!checked.ok) {
    const problems = checked.problems.map((p) => `${p.field}: ${p.message}`).join('; ');
    throw new Error(`connection ${doc.name}: ${problems}`);
  }
  const desired = checked.value as unknown as DesiredConnection;
  for (const warning of connectionWarnings(doc.name, desired.protocol, desired.target)) {
    process.stderr.write(`${warning}\n`);
  }
  const plan = planConnection(await findConnection(api, doc.name), desired, doc.body);
  if (!flags.dryRun) await carryOut(api, plan);
  process.stdout.write(`${describePlan('connection', plan, flags.dryRun)}\n`);
}

async function carryOut(api: ApiClient, plan: ConnectionPlan): Promise<void> {
  const path = `/api/v1/connections/${encodeURIComponent(plan.name)}`;
  if (plan.action === 'create') await api.call('POST', '/api/v1/connections', plan.body);
  if (plan.action === 'update') await api.call('PATCH', path, plan.patch);
}

function describePlan(kind: string, plan: ConnectionPlan, dryRun: boolean | undefined): string {
  const head = `${kind} ${plan.name}: `;
  if (plan.action === 'unchanged') return `${head}unchanged`;
  if (plan.action === 'create') return `${head}${dryRun ? 'would be created' : 'created'}`;
  return `${head}${dryRun ? 'would change' : 'changed'} ${JSON.stringify(plan.patch)}`;
}

async function applyAgent(api: ApiClient, doc: AgentDocument, flags: Flags): Promise<void> {
  const path = `/api/v1/agents/${encodeURIComponent(doc.name)}`;
  let current: { description: string | null } | undefined;
  try {
    current = await api.call<{ description: string | null }>('GET', path);
  } catch (error) {
    if (!(error instanceof ApiCallError && error.status === 404)) throw error;
  }
  if (!current) {
    if (flags.dryRun) return void process.stdout.write(`agent ${doc.name}: would be created\n`);
    const created = await api.call<{ token: string }>('POST', '/api/v1/agents', {
      name: doc.name,
      ...(doc.description ? { description: doc.description } : {}),
    });
    process.stdout.write(`agent ${doc.name}: created; its token, shown only once: ${created.token}\n`);
    return;
  }
  if (current.description === doc.description)
    return void process.stdout.write(`agent ${doc.name}: unchanged\n`);
  if (!flags.dryRun) await api.call('PATCH', path, { description: doc.description });
  process.stdout.write(
    `agent ${doc.name}: ${flags.dryRun ? 'would change' : 'changed'} ${JSON.stringify({ description: doc.description })}\n`,
  );
}

async function applyPolicy(api: ApiClient, doc: PolicyDocument, flags: Flags): Promise<void> {
  const { items } = await api.call<{ items: { version: number; active: boolean }[] }>(
    'GET',
    '/api/v1/policy/versions',
  );
  const active = items.find((v) => v.active);
  if (active) {
    const { document } = await api.call<{ document: string }>(
      'GET',
      `/api/v1/policy/versions/${active.version}`,
    );
    if (document === doc.text)
      return void process.stdout.write(`policy: unchanged (version ${active.version})\n`);
  }
  const fileName = basename(flags.file);
  if (flags.dryRun) {
    const result = await api.call<DryRun>('POST', '/api/v1/policy/dry-run', { document: doc.text, fileName });
    printDryRun(result);
    // A dry run of a document the gateway would refuse fails, as the apply would.
    if (result.refused) process.exitCode = 1;
    return;
  }
  const applied = await api.call<{ version: number }>('POST', '/api/v1/policy', {
    document: doc.text,
    fileName,
    ...(flags.comment ? { comment: flags.comment } : {}),
  });
  process.stdout.write(`policy: applied as version ${applied.version}\n`);
}

import { parseAllDocuments } from 'yaml';

export interface ConnectionDocument {
  readonly kind: 'connection';
  readonly name: string;
  /** Everything but `kind`, as the API takes it on create. */
  readonly body: Record<string, unknown>;
}

export interface AgentDocument {
  readonly kind: 'agent';
  readonly name: string;
  readonly description: string | null;
}

export interface PolicyDocument {
  readonly kind: 'policy';
  /** The policy's YAML text, as `admin policy apply` sends it. */
  readonly text: string;
}

export type ResourceDocument = ConnectionDocument | AgentDocument | PolicyDocument;

/**
 * Reads a file of YAML documents (separated by ---): `kind: connection` and `kind: agent` documents,
 * and the policy (a document without `kind`, or `kind: policy`). A file with a single policy
 * document is sent as written, so problems keep their line numbers.
 */
export function parseResourceDocuments(text: string): ResourceDocument[] {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) throw new Error('not a YAML document stream');
  const parsed: ResourceDocument[] = [];
  documents.forEach((document, index) => {
    const at = `document ${index + 1}`;
    if (document.errors.length > 0)
      throw new Error(`${at}: ${document.errors[0]?.message ?? 'invalid YAML'}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${at}: expected a mapping`);
    const { kind, ...rest } = value as Record<string, unknown>;
    if (kind === undefined || kind === 'policy') {
      parsed.push({ kind: 'policy', text: documents.length === 1 ? text : String(document) });
      return;
    }
    if (typeof rest['name'] !== 'string' || rest['name'] === '')
      throw new Error(`${at}: a ${JSON.stringify(kind)} document needs a name`);
    if (kind === 'connection') parsed.push({ kind, name: rest['name'], body: rest });
    else if (kind === 'agent') {
      const extra = Object.keys(rest).filter((key) => key !== 'name' && key !== 'description');
      if (extra.length > 0)
        throw new Error(`${at}: an agent document has name and description, not ${extra.join(', ')}`);
      const description = rest['description'];
      if (description !== undefined && typeof description !== 'string') {
        throw new Error(`${at}: description must be text`);
      }
      parsed.push({ kind, name: rest['name'], description: description ?? null });
    } else
      throw new Error(`${at}: unknown kind ${JSON.stringify(kind)} (expected connection, agent or policy)`);
  });
  if (parsed.filter((d) => d.kind === 'policy').length > 1) throw new Error('more than one policy document');
  return parsed;
}

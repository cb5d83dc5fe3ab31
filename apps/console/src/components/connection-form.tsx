import { useState, type FormEvent } from 'react';
import type { ApiProblem } from '../api/problem';
import type { Agent, Connection } from '../api/types';
import { formatTags, parseTags } from '../lib/format';
import { CheckboxField, SelectField, TextField } from './fields';
import { ProblemNote } from './problem-note';

const PROTOCOLS = ['postgres', 'mysql', 'ssh', 'kubernetes', 'http', 'tcp'] as const;
type Protocol = (typeof PROTOCOLS)[number];

const DEFAULT_PORTS: Partial<Record<Protocol, number>> = { postgres: 5432, mysql: 3306, ssh: 22 };
const CREDENTIALS: Record<Protocol, readonly [string, string][]> = {
  postgres: [['password', 'Password reference']],
  mysql: [['password', 'Password reference']],
  ssh: [
    ['password', 'Password reference'],
    ['privateKey', 'Private key reference'],
  ],
  kubernetes: [
    ['token', 'Bearer token reference'],
    ['clientCertificate', 'Client certificate reference'],
    ['clientKey', 'Client key reference'],
  ],
  http: [['token', 'Bearer token reference']],
  tcp: [],
};
const TLS_MODES = ['disable', 'require', 'verify-ca', 'verify-full'];
const LOOPBACK = /^(127\.|localhost$|::1$|\[::1\]$)/;

export interface ConnectionBody {
  name: string;
  protocol?: string;
  description?: string | null;
  /** On an edit, a key set to null is removed (the API's PATCH is a JSON merge patch). */
  tags: Record<string, string | null>;
  target: Record<string, unknown>;
  credential: Record<string, string | null>;
  agents: string[];
}

interface Props {
  readonly initial?: Connection;
  readonly agents: readonly Agent[];
  readonly submitLabel: string;
  readonly pending: boolean;
  readonly problem: ApiProblem | undefined;
  onSubmit: (body: ConnectionBody) => void;
}

const str = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : '');

/**
 * Create or edit a connection: its target by protocol, the credential references the agent resolves
 * (never secrets), tags for policy selectors, and the agents that serve it. Problems the gateway
 * finds are shown beside their fields.
 */
export function ConnectionForm({ initial, agents, submitLabel, pending, problem, onSubmit }: Props) {
  const target = initial?.target ?? {};
  const [name, setName] = useState(initial?.name ?? '');
  const [protocol, setProtocol] = useState<Protocol>((initial?.protocol as Protocol) ?? 'postgres');
  const [description, setDescription] = useState(initial?.description ?? '');
  const [tagsText, setTagsText] = useState(formatTags(initial?.tags ?? {}));
  const [host, setHost] = useState(str(target['host']));
  const [port, setPort] = useState(str(target['port']));
  const [database, setDatabase] = useState(str(target['database']));
  const [username, setUsername] = useState(str(target['username']));
  const [tlsMode, setTlsMode] = useState(
    str((target['tls'] as { mode?: string } | undefined)?.mode) || 'verify-full',
  );
  const [fingerprint, setFingerprint] = useState(str(target['hostKeyFingerprint']));
  const [url, setUrl] = useState(str(target['server'] ?? target['url']));
  const [skipVerify, setSkipVerify] = useState(target['insecureSkipTlsVerify'] === true);
  const [inCluster, setInCluster] = useState(target['inCluster'] === true);
  const [credential, setCredential] = useState<Record<string, string>>({ ...(initial?.credential ?? {}) });
  const [served, setServed] = useState<string[]>(initial?.agents.map((a) => a.name) ?? []);
  const [tagProblems, setTagProblems] = useState<string[]>([]);

  const fieldError = (field: string) =>
    problem?.errors
      .filter((e) => e.field === field || e.field.startsWith(`${field}.`) || e.field.startsWith(`${field}[`))
      .map((e) => e.message)
      .join('; ') || undefined;
  const isDatabase = protocol === 'postgres' || protocol === 'mysql';

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const { tags, problems } = parseTags(tagsText);
    setTagProblems(problems);
    if (problems.length > 0) return;
    const portNumber = port.trim() === '' ? DEFAULT_PORTS[protocol] : Number(port);
    let body: Record<string, unknown>;
    switch (protocol) {
      case 'postgres':
      case 'mysql':
        body = {
          host: host.trim(),
          port: portNumber,
          username: username.trim(),
          ...(database.trim() ? { database: database.trim() } : {}),
          tls: { mode: tlsMode },
        };
        break;
      case 'ssh':
        body = {
          host: host.trim(),
          port: portNumber,
          username: username.trim(),
          ...(fingerprint.trim() ? { hostKeyFingerprint: fingerprint.trim() } : {}),
        };
        break;
      case 'kubernetes':
        body = inCluster
          ? { inCluster: true, insecureSkipTlsVerify: skipVerify }
          : { server: url.trim(), insecureSkipTlsVerify: skipVerify };
        break;
      case 'http':
        body = { url: url.trim(), insecureSkipTlsVerify: skipVerify };
        break;
      case 'tcp':
        body = { host: host.trim(), port: portNumber };
        break;
    }
    const references: Record<string, string> = {};
    for (const [key] of CREDENTIALS[protocol]) {
      const value = credential[key]?.trim();
      if (value) references[key] = value;
    }
    // An edit is a JSON merge patch: keys the form no longer has are sent as null to be removed.
    onSubmit({
      name: name.trim(),
      ...(initial ? {} : { protocol }),
      description: description.trim() ? description.trim() : initial ? null : undefined,
      tags: withRemovals(initial?.tags, tags),
      target: withRemovals(initial?.target, body),
      credential: withRemovals(initial?.credential, references),
      agents: served,
    });
  };

  return (
    <form onSubmit={submit} className="form" noValidate>
      <ProblemNote problem={problem} title="The gateway did not accept the connection" />
      <div className="form-grid">
        <TextField
          label="Name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          autoComplete="off"
          hint="Lower-case letters, digits, '.', '_' or '-'; used in `tollgate connect NAME` and policy globs"
          error={fieldError('name')}
        />
        <SelectField
          label="Protocol"
          value={protocol}
          onChange={(e) => setProtocol(e.target.value as Protocol)}
          options={PROTOCOLS}
          disabled={initial !== undefined}
          hint={initial ? 'The protocol of a connection never changes' : undefined}
          error={fieldError('protocol')}
        />
        {protocol === 'kubernetes' ? (
          <CheckboxField
            label="In-cluster: the agent runs in the cluster and uses its pod's API server and service account"
            checked={inCluster}
            onChange={(e) => setInCluster(e.target.checked)}
          />
        ) : null}
        {(protocol === 'kubernetes' && !inCluster) || protocol === 'http' ? (
          <TextField
            label={protocol === 'kubernetes' ? 'API server URL' : 'URL'}
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            placeholder="https://…"
            error={fieldError(protocol === 'kubernetes' ? 'target.server' : 'target.url')}
          />
        ) : (
          <>
            <TextField
              label="Host"
              value={host}
              onChange={(e) => setHost(e.target.value)}
              placeholder="10.0.0.5 or db.internal"
              error={fieldError('target.host')}
            />
            <TextField
              label="Port"
              value={port}
              inputMode="numeric"
              onChange={(e) => setPort(e.target.value)}
              placeholder={DEFAULT_PORTS[protocol] ? String(DEFAULT_PORTS[protocol]) : ''}
              error={fieldError('target.port')}
            />
          </>
        )}
        {isDatabase ? (
          <TextField
            label="Database"
            value={database}
            onChange={(e) => setDatabase(e.target.value)}
            error={fieldError('target.database')}
          />
        ) : null}
        {isDatabase || protocol === 'ssh' ? (
          <TextField
            label="User name at the target"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            autoComplete="off"
            error={fieldError('target.username')}
          />
        ) : null}
        {isDatabase ? (
          <SelectField
            label="TLS to the target"
            value={tlsMode}
            onChange={(e) => setTlsMode(e.target.value)}
            options={TLS_MODES}
            hint={
              LOOPBACK.test(host.trim()) && tlsMode === 'verify-full'
                ? 'A database on this machine rarely has a certificate for its address: verify-full will fail; choose disable (or require).'
                : 'verify-full checks the server certificate and its host name'
            }
            error={fieldError('target.tls')}
          />
        ) : null}
        {protocol === 'ssh' ? (
          <TextField
            label="Host key fingerprint"
            value={fingerprint}
            onChange={(e) => setFingerprint(e.target.value)}
            placeholder="SHA256:…"
            error={fieldError('target.hostKeyFingerprint')}
          />
        ) : null}
        {protocol === 'kubernetes' || protocol === 'http' ? (
          <CheckboxField
            label="Skip TLS verification (testing only)"
            checked={skipVerify}
            onChange={(e) => setSkipVerify(e.target.checked)}
          />
        ) : null}
        {CREDENTIALS[protocol].map(([key, label]) => (
          <TextField
            key={key}
            label={label}
            value={credential[key] ?? ''}
            onChange={(e) => setCredential((c) => ({ ...c, [key]: e.target.value }))}
            placeholder="env:PG_PASSWORD or file:/run/secrets/pg"
            autoComplete="off"
            hint="Resolved by the agent next to the resource; the secret never reaches the gateway"
            error={fieldError(`credential.${key}`)}
          />
        ))}
        <TextField
          label="Tags"
          value={tagsText}
          onChange={(e) => setTagsText(e.target.value)}
          placeholder="env=prod, team=payments"
          hint="key=value pairs, matched by policy selectors such as tag:env=prod"
          error={tagProblems.join('; ') || fieldError('tags')}
        />
        <TextField
          label="Description"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          error={fieldError('description')}
        />
      </div>
      <fieldset className="agents-pick">
        <legend>Served by</legend>
        {agents.length === 0 ? <p className="muted">No agents yet: create one on the Agents page.</p> : null}
        {agents.map((agent) => (
          <CheckboxField
            key={agent.id}
            label={`${agent.name} (${agent.status})`}
            checked={served.includes(agent.name)}
            onChange={(e) =>
              setServed((list) =>
                e.target.checked ? [...list, agent.name] : list.filter((n) => n !== agent.name),
              )
            }
          />
        ))}
        {fieldError('agents') ? <span className="field-error">{fieldError('agents')}</span> : null}
      </fieldset>
      <div className="actions">
        <button type="submit" className="primary" disabled={pending}>
          {pending ? 'Saving…' : submitLabel}
        </button>
      </div>
    </form>
  );
}

function withRemovals<T>(
  before: Record<string, unknown> | undefined,
  after: Record<string, T>,
): Record<string, T | null> {
  const removed = Object.keys(before ?? {}).filter((key) => !Object.hasOwn(after, key));
  return { ...after, ...Object.fromEntries(removed.map((key) => [key, null])) };
}

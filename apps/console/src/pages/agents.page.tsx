import { useCallback, useState, type FormEvent } from 'react';
import type { ActivePolicy, Agent } from '../api/types';
import { Badge, CopyButton, Empty, Loading, PageHeader, TableRegion, Time } from '../components/bits';
import { TextField } from '../components/fields';
import { ProblemNote } from '../components/problem-note';
import { useConsole } from '../context';
import { useAction, useResource } from '../hooks';

/** Agents with their status, version and the policy version they enforce; register a new one. */
export function AgentsPage() {
  const { api, gateway } = useConsole();
  const agents = useResource<{ items: Agent[] }>('/api/v1/agents', 5000);
  const policy = useResource<ActivePolicy>('/api/v1/policy');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const create = useAction(
    useCallback(
      (body: { name: string; description?: string }) =>
        api.post<Agent & { token: string }>('/api/v1/agents', body),
      [api],
    ),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const created = await create.run({
      name: name.trim(),
      ...(description.trim() ? { description: description.trim() } : {}),
    });
    if (created) {
      setName('');
      setDescription('');
      agents.reload();
    }
  };
  const created = create.result;
  const command = created
    ? `TOLLGATE_AGENT_TOKEN=${created.token} tollgate agent --gateway ${gateway.grpcUrl}`
    : '';
  const activeVersion = policy.data?.version ?? 0;

  return (
    <>
      <PageHeader title="Agents" />
      <section aria-labelledby="new-agent" className="card">
        <h2 id="new-agent">Register an agent</h2>
        <form onSubmit={(e) => void submit(e)} className="form form-inline" noValidate>
          <TextField
            label="Agent name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            autoComplete="off"
            error={create.error?.errors.find((e) => e.field === 'name')?.message}
          />
          <TextField
            label="Description"
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
          <div className="actions">
            <button type="submit" className="primary" disabled={create.pending}>
              {create.pending ? 'Creating…' : 'Create agent'}
            </button>
          </div>
        </form>
        {create.error && create.error.errors.length === 0 ? <ProblemNote problem={create.error} /> : null}
        {created ? (
          <div className="token-reveal" role="status">
            <p>
              <strong>Agent “{created.name}” created.</strong> Its token is shown only now; the gateway keeps
              only a hash.
            </p>
            <p className="label">Token</p>
            <div className="copy-row">
              <code className="secret" data-testid="agent-token">
                {created.token}
              </code>
              <CopyButton text={created.token} label="Copy the agent token" />
            </div>
            <p className="label">Run it next to the resources</p>
            <div className="copy-row">
              <code className="command" data-testid="agent-command">
                {command}
              </code>
              <CopyButton text={command} label="Copy the agent command" />
            </div>
            <p className="muted">
              Prefer the environment variable over --token: flags show in the process list.
            </p>
            <button type="button" onClick={create.reset}>
              I have saved the token
            </button>
          </div>
        ) : null}
      </section>

      <ProblemNote problem={agents.error} />
      {agents.loading && !agents.data ? <Loading what="agents" /> : null}
      {agents.data && agents.data.items.length === 0 ? <Empty>No agents registered yet.</Empty> : null}
      {agents.data && agents.data.items.length > 0 ? (
        <TableRegion label="Agents">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Version</th>
                <th scope="col">Host</th>
                <th scope="col">Last seen</th>
                <th scope="col">Policy enforced</th>
                <th scope="col">Connections</th>
              </tr>
            </thead>
            <tbody>
              {agents.data.items.map((a) => (
                <tr key={a.id}>
                  <td>
                    {a.name}
                    {a.description ? <div className="muted small">{a.description}</div> : null}
                  </td>
                  <td>
                    <Badge value={a.status} />
                  </td>
                  <td>{a.version ?? '—'}</td>
                  <td>{a.hostname ?? '—'}</td>
                  <td>
                    <Time iso={a.lastSeenAt} />
                  </td>
                  <td>
                    {a.policyVersion === null ? (
                      '—'
                    ) : (
                      <>
                        {a.policyVersion === 0 ? 'default' : `v${a.policyVersion}`}{' '}
                        {a.policyVersion !== activeVersion ? <Badge value="behind" kind="warn" /> : null}
                      </>
                    )}
                  </td>
                  <td>{a.connections.map((c) => c.name).join(', ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      ) : null}
    </>
  );
}

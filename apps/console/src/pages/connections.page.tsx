import { useCallback, useState } from 'react';
import type { Agent, Connection } from '../api/types';
import { Empty, Loading, PageHeader, TableRegion } from '../components/bits';
import { ConnectionForm, type ConnectionBody } from '../components/connection-form';
import { ProblemNote } from '../components/problem-note';
import { useConsole } from '../context';
import { useAction, useResource } from '../hooks';
import { formatTags } from '../lib/format';
import { Link, navigate } from '../router';

/** Every registered connection; create a new one. */
export function ConnectionsPage() {
  const { api, reloadAccess } = useConsole();
  const connections = useResource<{ items: Connection[] }>('/api/v1/connections');
  const agents = useResource<{ items: Agent[] }>('/api/v1/agents');
  const [creating, setCreating] = useState(false);
  const create = useAction(
    useCallback((body: ConnectionBody) => api.post<Connection>('/api/v1/connections', body), [api]),
  );
  const submit = async (body: ConnectionBody) => {
    const created = await create.run(body);
    if (!created) return;
    await reloadAccess();
    navigate(`/connections/${encodeURIComponent(created.name)}?created=1`);
  };

  return (
    <>
      <PageHeader title="Connections">
        <button
          type="button"
          className="primary"
          aria-expanded={creating}
          onClick={() => setCreating((c) => !c)}
        >
          {creating ? 'Cancel' : 'New connection'}
        </button>
      </PageHeader>
      {creating ? (
        <section aria-labelledby="new-connection" className="card">
          <h2 id="new-connection">New connection</h2>
          <ConnectionForm
            agents={agents.data?.items ?? []}
            submitLabel="Create connection"
            pending={create.pending}
            problem={create.error}
            onSubmit={(body) => void submit(body)}
          />
        </section>
      ) : null}
      <ProblemNote problem={connections.error} />
      {connections.loading && !connections.data ? <Loading what="connections" /> : null}
      {connections.data && connections.data.items.length === 0 ? (
        <Empty>No connections yet. Register a database, host or cluster with “New connection”.</Empty>
      ) : null}
      {connections.data && connections.data.items.length > 0 ? (
        <TableRegion label="Connections">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Protocol</th>
                <th scope="col">Target</th>
                <th scope="col">Tags</th>
                <th scope="col">Agents</th>
              </tr>
            </thead>
            <tbody>
              {connections.data.items.map((c) => (
                <tr key={c.id}>
                  <td>
                    <Link to={`/connections/${encodeURIComponent(c.name)}`}>{c.name}</Link>
                  </td>
                  <td>{c.protocol}</td>
                  <td>
                    <code>{describeTarget(c)}</code>
                  </td>
                  <td>{formatTags(c.tags) || '—'}</td>
                  <td>{c.agents.map((a) => a.name).join(', ') || <span className="muted">none</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      ) : null}
    </>
  );
}

export function describeTarget(c: Connection): string {
  const t = c.target;
  if (typeof t['server'] === 'string') return t['server'];
  if (t['inCluster'] === true) return 'in-cluster (the agent’s pod)';
  if (typeof t['url'] === 'string') return t['url'];
  const where = `${String(t['host'])}:${String(t['port'])}`;
  const user = typeof t['username'] === 'string' ? `${t['username']}@` : '';
  const db = typeof t['database'] === 'string' ? `/${t['database']}` : '';
  return `${user}${where}${db}`;
}

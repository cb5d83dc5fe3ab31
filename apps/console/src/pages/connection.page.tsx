import { useCallback, useState } from 'react';
import type { Agent, Connection, ConnectionReach, ConnectionTest } from '../api/types';
import { Badge, Loading, PageHeader, TableRegion, Time } from '../components/bits';
import { ConnectionForm, type ConnectionBody } from '../components/connection-form';
import { ProblemNote } from '../components/problem-note';
import { useConsole } from '../context';
import { useAction, useResource } from '../hooks';
import { Link, navigate, useLocation } from '../router';
import { describeTarget } from './connections.page';

/** One connection: test it, see who can reach it, edit or delete it. */
export function ConnectionPage({ name }: { name: string }) {
  const { api, reloadAccess, nameOf } = useConsole();
  const { query } = useLocation();
  const path = `/api/v1/connections/${encodeURIComponent(name)}`;
  const connection = useResource<Connection>(path);
  const reach = useResource<ConnectionReach>(`${path}/reach`);
  const agents = useResource<{ items: Agent[] }>('/api/v1/agents');
  const [editing, setEditing] = useState(false);
  const test = useAction(useCallback(() => api.post<ConnectionTest>(`${path}/test`), [api, path]));
  const save = useAction(
    useCallback((body: ConnectionBody) => api.patch<Connection>(path, body), [api, path]),
  );
  const remove = useAction(useCallback(() => api.delete(path), [api, path]));

  const submit = async (body: ConnectionBody) => {
    const saved = await save.run(body);
    if (!saved) return;
    setEditing(false);
    await reloadAccess();
    if (saved.name !== name) navigate(`/connections/${encodeURIComponent(saved.name)}`, { replace: true });
    else {
      connection.reload();
      reach.reload();
    }
  };
  const del = async () => {
    if (!window.confirm(`Delete connection "${name}"? Sessions can no longer reach it.`)) return;
    await remove.run();
    await reloadAccess();
    navigate('/connections');
  };

  if (connection.error) {
    return (
      <>
        <PageHeader title={name} />
        <ProblemNote problem={connection.error} />
        <Link to="/connections">All connections</Link>
      </>
    );
  }
  if (!connection.data) return <Loading what="the connection" />;
  const c = connection.data;
  const result = test.result;
  return (
    <>
      <PageHeader title={c.name}>
        <button type="button" className="primary" onClick={() => void test.run()} disabled={test.pending}>
          {test.pending ? 'Testing…' : 'Test reachability'}
        </button>
        <button type="button" aria-expanded={editing} onClick={() => setEditing((e) => !e)}>
          {editing ? 'Cancel edit' : 'Edit'}
        </button>
        <button type="button" className="danger" onClick={() => void del()} disabled={remove.pending}>
          Delete
        </button>
      </PageHeader>
      {query.get('created') ? (
        <p className="note note-ok" role="status">
          Connection created. Test it to check that an agent reaches the target.
        </p>
      ) : null}
      <ProblemNote problem={remove.error} />
      <ProblemNote problem={test.error} />
      {result ? (
        <div
          className={`note ${result.reachable ? 'note-ok' : 'note-error'}`}
          role="status"
          aria-live="polite"
        >
          <strong>{result.reachable ? 'Reachable' : `Not reachable (${result.outcome})`}</strong>:{' '}
          {result.message} <span className="muted">({result.ms} ms)</span>
          {result.sessionId ? (
            <>
              {' '}
              <Link to={`/sessions/${result.sessionId}`}>test session</Link>
            </>
          ) : null}
        </div>
      ) : null}

      <dl className="facts">
        <dt>Protocol</dt>
        <dd>{c.protocol}</dd>
        <dt>Target</dt>
        <dd>
          <code>{describeTarget(c)}</code>
        </dd>
        <dt>Served by</dt>
        <dd>{c.agents.map((a) => a.name).join(', ') || 'no agent'}</dd>
        <dt>Tags</dt>
        <dd>
          {Object.entries(c.tags).map(([k, v]) => (
            <Badge key={k} value={`${k}=${v}`} kind="muted" />
          ))}
          {Object.keys(c.tags).length === 0 ? '—' : null}
        </dd>
        <dt>Credential</dt>
        <dd>
          {Object.entries(c.credential)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ') || 'none'}
        </dd>
        <dt>Updated</dt>
        <dd>
          <Time iso={c.updatedAt} />
        </dd>
      </dl>

      {editing ? (
        <section aria-labelledby="edit-title" className="card">
          <h2 id="edit-title">Edit {c.name}</h2>
          <ConnectionForm
            initial={c}
            agents={agents.data?.items ?? []}
            submitLabel="Save changes"
            pending={save.pending}
            problem={save.error}
            onSubmit={(body) => void submit(body)}
          />
        </section>
      ) : null}

      <section aria-labelledby="reach-title">
        <h2 id="reach-title">Who can reach it</h2>
        <ProblemNote problem={reach.error} />
        {reach.data ? (
          <>
            <p className="muted">
              Under policy{' '}
              {reach.data.policyVersion === null ? 'default' : `version ${reach.data.policyVersion}`}.
            </p>
            <TableRegion label="People and service accounts who can reach this connection">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Who</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Verbs</th>
                    <th scope="col">Through</th>
                  </tr>
                </thead>
                <tbody>
                  {reach.data.subjects.map((s) => (
                    <tr key={s.subject}>
                      <td title={s.subject}>{s.displayName}</td>
                      <td>{s.kind === 'user' ? 'person' : 'service account'}</td>
                      <td>{s.verbs.join(', ')}</td>
                      <td>{s.via.join(', ')}</td>
                    </tr>
                  ))}
                  {reach.data.subjects.length === 0 ? (
                    <tr>
                      <td colSpan={4} className="muted">
                        Nobody known to the gateway yet (people appear after their first sign-in).
                      </td>
                    </tr>
                  ) : null}
                </tbody>
              </table>
            </TableRegion>
            <h3>Roles that cover it</h3>
            <ul className="plain">
              {reach.data.roles.map((r) => (
                <li key={r.role}>
                  <strong>{r.role}</strong>: {r.verbs.join(', ')} for <code>{r.subjects.join(', ')}</code>
                  {r.readOnly ? ' (read-only)' : ''}
                </li>
              ))}
              {reach.data.roles.length === 0 ? (
                <li className="muted">No role covers this connection.</li>
              ) : null}
            </ul>
            {reach.data.grants.length > 0 ? (
              <>
                <h3>Just-in-time grants</h3>
                <ul className="plain">
                  {reach.data.grants.map((g) => (
                    <li key={g.id}>
                      {nameOf(g.subject)}: {g.verb} until <Time iso={g.expiresAt} />
                    </li>
                  ))}
                </ul>
              </>
            ) : null}
          </>
        ) : null}
      </section>
    </>
  );
}

import { useCallback, useState, type FormEvent } from 'react';
import type { Session } from '../api/types';
import { Badge, Empty, Loading, PageHeader, TableRegion, Time } from '../components/bits';
import { CheckboxField, SelectField, TextField } from '../components/fields';
import { ProblemNote } from '../components/problem-note';
import { useConsole } from '../context';
import { useAction, useResource } from '../hooks';
import { Link, navigate, useLocation } from '../router';

/** Sessions, newest first, filtered; live ones can be followed and killed. */
export function SessionsPage() {
  const { api, can, nameOf } = useConsole();
  const { query } = useLocation();
  const [state, setState] = useState(query.get('state') ?? '');
  const [subject, setSubject] = useState(query.get('subject') ?? '');
  const [connection, setConnection] = useState(query.get('connection') ?? '');
  const [live, setLive] = useState(true);
  const filters = new URLSearchParams();
  for (const [key, value] of [
    ['state', query.get('state')],
    ['subject', query.get('subject')],
    ['connection', query.get('connection')],
  ] as const) {
    if (value) filters.set(key, value);
  }
  filters.set('limit', '200');
  const sessions = useResource<{ items: Session[] }>(
    `/api/v1/sessions?${filters.toString()}`,
    live ? 3000 : undefined,
  );
  const kill = useAction(useCallback((id: string) => api.post(`/api/v1/sessions/${id}/kill`), [api]));

  const apply = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (state) next.set('state', state);
    if (subject.trim()) next.set('subject', subject.trim());
    if (connection.trim()) next.set('connection', connection.trim());
    navigate(`/sessions${next.size ? `?${next.toString()}` : ''}`);
  };
  const doKill = async (session: Session) => {
    if (!window.confirm(`Kill the session of ${nameOf(session.subject)} on ${session.connection}?`)) return;
    await kill.run(session.id);
    sessions.reload();
  };

  return (
    <>
      <PageHeader title="Sessions" />
      <form className="form form-inline filters" onSubmit={apply} aria-label="Filter sessions">
        <SelectField
          label="State"
          value={state}
          onChange={(e) => setState(e.target.value)}
          options={[['', 'any'], 'open', 'opening', 'closed']}
        />
        <TextField
          label="Subject"
          value={subject}
          onChange={(e) => setSubject(e.target.value)}
          placeholder="user:… or sa:…"
        />
        <TextField label="Connection" value={connection} onChange={(e) => setConnection(e.target.value)} />
        <div className="actions">
          <button type="submit">Filter</button>
        </div>
        <CheckboxField
          label="Live (refresh every 3 s)"
          checked={live}
          onChange={(e) => setLive(e.target.checked)}
        />
      </form>
      <ProblemNote problem={sessions.error} />
      <ProblemNote problem={kill.error} />
      {sessions.loading && !sessions.data ? <Loading what="sessions" /> : null}
      {sessions.data && sessions.data.items.length === 0 ? <Empty>No sessions match.</Empty> : null}
      {sessions.data && sessions.data.items.length > 0 ? (
        <TableRegion label="Sessions">
          <table>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Who</th>
                <th scope="col">Connection</th>
                <th scope="col">State</th>
                <th scope="col">From</th>
                <th scope="col">Policy</th>
                <th scope="col">Ended</th>
                {can('admin') ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {sessions.data.items.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link to={`/sessions/${s.id}`}>
                      <Time iso={s.startedAt} />
                      <span className="visually-hidden"> session {s.id}</span>
                    </Link>
                  </td>
                  <td title={s.subject}>{nameOf(s.subject)}</td>
                  <td>
                    {s.connection} <span className="muted">({s.protocol})</span>
                  </td>
                  <td>
                    <Badge value={s.state} />
                  </td>
                  <td>{s.clientAddr ?? '—'}</td>
                  <td>{s.policyVersion === null ? 'default' : `v${s.policyVersion}`}</td>
                  <td className="wrap">
                    {s.endedAt ? (
                      <>
                        <Time iso={s.endedAt} />
                        {s.closeReason ? <span className="muted"> ({s.closeReason})</span> : null}
                      </>
                    ) : (
                      '—'
                    )}
                  </td>
                  {can('admin') ? (
                    <td>
                      {s.state !== 'closed' ? (
                        <button type="button" className="button-small danger" onClick={() => void doKill(s)}>
                          Kill<span className="visually-hidden"> session {s.id}</span>
                        </button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      ) : null}
    </>
  );
}

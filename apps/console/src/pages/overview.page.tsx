import type { Agent, AuditEntry, Review, Session } from '../api/types';
import { Badge, Empty, PageHeader, TableRegion, Time } from '../components/bits';
import { useConsole } from '../context';
import { useResource } from '../hooks';
import { Link } from '../router';

// Every read is an audited decision: refresh often enough to notice, rarely enough not to flood the log.
const REFRESH_MS = 10_000;

/** What needs attention now: agents online, live sessions, pending reviews, recent denials. */
export function OverviewPage() {
  const { can, access, nameOf } = useConsole();
  const agents = useResource<{ items: Agent[] }>(can('admin') ? '/api/v1/agents' : null, REFRESH_MS);
  const live = useResource<{ items: Session[] }>(
    can('audit:read') ? '/api/v1/sessions?state=open&limit=200' : null,
    REFRESH_MS,
  );
  const reviews = useResource<{ items: Review[] }>('/api/v1/reviews?state=pending', REFRESH_MS);
  const denials = useResource<{ items: AuditEntry[] }>(
    can('audit:read') ? '/api/v1/audit?decision=deny&order=desc&limit=8' : null,
    REFRESH_MS,
  );
  const online = agents.data?.items.filter((a) => a.status === 'online').length;
  return (
    <>
      <PageHeader title="Overview" />
      <section aria-label="Summary" className="stats">
        {can('admin') ? (
          <Stat
            label="Agents online"
            to="/agents"
            value={online === undefined ? '…' : `${online} / ${agents.data?.items.length}`}
          />
        ) : null}
        {can('audit:read') ? (
          <Stat
            label="Live sessions"
            to="/sessions?state=open"
            value={live.data ? String(live.data.items.length) : '…'}
          />
        ) : null}
        <Stat
          label="Pending reviews"
          to="/reviews"
          value={reviews.data ? String(reviews.data.items.length) : '…'}
        />
        <Stat
          label="Connections you can use"
          to="/query"
          value={String(access.connections.filter((c) => c.verbs.length > 0).length)}
        />
      </section>

      {can('audit:read') ? (
        <section aria-labelledby="denials-title">
          <h2 id="denials-title">Recent denials</h2>
          {denials.data && denials.data.items.length === 0 ? <Empty>No denials recorded.</Empty> : null}
          {denials.data && denials.data.items.length > 0 ? (
            <TableRegion label="Recent denials">
              <table>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Who</th>
                    <th scope="col">Action</th>
                    <th scope="col">Target</th>
                    <th scope="col">Reason</th>
                  </tr>
                </thead>
                <tbody>
                  {denials.data.items.map((entry) => (
                    <tr key={entry.seq}>
                      <td>
                        <Time iso={entry.at} />
                      </td>
                      <td>{nameOf(entry.subject)}</td>
                      <td>
                        <code>{entry.action}</code>
                      </td>
                      <td>{entry.target ?? '—'}</td>
                      <td className="wrap">{entry.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableRegion>
          ) : null}
        </section>
      ) : null}

      <section aria-labelledby="mine-title">
        <h2 id="mine-title">Your access</h2>
        {access.connections.length === 0 ? (
          <Empty>The policy gives you no connections yet.</Empty>
        ) : (
          <TableRegion label="Your connections">
            <table>
              <thead>
                <tr>
                  <th scope="col">Connection</th>
                  <th scope="col">Protocol</th>
                  <th scope="col">You may</th>
                  <th scope="col">How to reach it</th>
                </tr>
              </thead>
              <tbody>
                {access.connections.map((c) => (
                  <tr key={c.name}>
                    <td>{c.name}</td>
                    <td>{c.protocol}</td>
                    <td>
                      {c.verbs.length > 0 ? (
                        c.verbs.join(', ')
                      ) : (
                        <span className="muted">request {c.requestable.join(' or ')}</span>
                      )}
                      {c.grantExpiresAt ? (
                        <span className="muted">
                          {' '}
                          (grant ends <Time iso={c.grantExpiresAt} />)
                        </span>
                      ) : null}
                    </td>
                    <td>
                      {c.verbs.includes('connect') ? <code>tollgate connect {c.name}</code> : null}
                      {c.verbs.includes('exec') && (c.protocol === 'postgres' || c.protocol === 'mysql') ? (
                        <>
                          {' '}
                          <Link to={`/query?connection=${encodeURIComponent(c.name)}`}>Query</Link>
                        </>
                      ) : null}
                      {c.verbs.length === 0 ? (
                        <Link to={`/reviews?request=${encodeURIComponent(c.name)}`}>Request access</Link>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
        )}
      </section>

      {reviews.data && reviews.data.items.length > 0 ? (
        <section aria-labelledby="pending-title">
          <h2 id="pending-title">Pending reviews</h2>
          <ul className="plain">
            {reviews.data.items.slice(0, 5).map((r) => (
              <li key={r.id}>
                <Badge value={r.kind} kind="muted" /> {nameOf(r.requester)} on <strong>{r.connection}</strong>
                : {r.kind === 'command' ? <code>{r.command}</code> : r.reason} <Time iso={r.createdAt} />
              </li>
            ))}
          </ul>
          <Link to="/reviews">Open the review inbox</Link>
        </section>
      ) : null}
    </>
  );
}

function Stat({ label, value, to }: { label: string; value: string; to: string }) {
  return (
    <Link to={to} className="stat card">
      <span className="stat-value">{value}</span>
      <span className="stat-label">{label}</span>
    </Link>
  );
}

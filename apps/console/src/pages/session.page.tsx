import { useCallback, useEffect, useState, type ReactNode } from 'react';
import type { Session, SessionEvent } from '../api/types';
import { Badge, Loading, PageHeader, TableRegion, Time } from '../components/bits';
import { ProblemNote } from '../components/problem-note';
import { TerminalPlayer } from '../components/terminal-player';
import { useConsole } from '../context';
import { useAction, useResource } from '../hooks';
import { Link } from '../router';

/** A recording the gateway stores for the session (SSH shell or exec, Kubernetes exec). */
interface SessionRecording {
  readonly recording: number;
  readonly kind: string;
  readonly command: string | null;
  readonly bytes: number;
  readonly complete: boolean;
  readonly truncated: boolean;
}

type SessionDetail = Session & { events: SessionEvent[]; recordings?: SessionRecording[] };

/** One session: its facts, its statement timeline (live while it runs), kill, and its recording. */
export function SessionPage({ id }: { id: string }) {
  const { api, can, nameOf } = useConsole();
  const [follow, setFollow] = useState(true);
  const session = useResource<SessionDetail>(
    `/api/v1/sessions/${encodeURIComponent(id)}`,
    follow ? 2000 : undefined,
  );
  const kill = useAction(
    useCallback(() => api.post(`/api/v1/sessions/${encodeURIComponent(id)}/kill`), [api, id]),
  );
  const closed = session.data?.state === 'closed';
  useEffect(() => {
    if (closed) setFollow(false);
  }, [closed]);

  if (!session.data) {
    return (
      <>
        <PageHeader title="Session" />
        <ProblemNote problem={session.error} />
        {!session.error ? <Loading what="the session" /> : null}
      </>
    );
  }
  const s = session.data;
  const doKill = async () => {
    if (!window.confirm('Kill this session? The client and the target connection close.')) return;
    await kill.run();
    session.reload();
  };
  return (
    <>
      <PageHeader title={`Session on ${s.connection}`}>
        {can('admin') && !closed ? (
          <button type="button" className="danger" onClick={() => void doKill()} disabled={kill.pending}>
            {kill.pending ? 'Killing…' : 'Kill session'}
          </button>
        ) : null}
      </PageHeader>
      <ProblemNote problem={kill.error} />
      {kill.result && !closed ? (
        <p className="note" role="status">
          Kill requested; the session ends within a second.
        </p>
      ) : null}
      <dl className="facts">
        <dt>State</dt>
        <dd>
          <Badge value={s.state} /> {s.closeReason ? <span className="muted">{s.closeReason}</span> : null}
        </dd>
        <dt>Who</dt>
        <dd title={s.subject}>{nameOf(s.subject)}</dd>
        <dt>Connection</dt>
        <dd>
          {s.connection} ({s.protocol}) through {s.agent ?? 'no agent'}
        </dd>
        <dt>From</dt>
        <dd>{s.clientAddr ?? '—'}</dd>
        <dt>Policy</dt>
        <dd>{s.policyVersion === null ? 'default' : `version ${s.policyVersion}`}</dd>
        <dt>Started</dt>
        <dd>
          <Time iso={s.startedAt} />
        </dd>
        <dt>Ended</dt>
        <dd>{s.endedAt ? <Time iso={s.endedAt} /> : 'still open'}</dd>
        <dt>Session id</dt>
        <dd>
          <code>{s.id}</code>
        </dd>
      </dl>
      <section aria-labelledby="timeline-title">
        <div className="section-header">
          <h2 id="timeline-title">Timeline</h2>
          {!closed ? (
            <label className="inline-check">
              <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
              live
            </label>
          ) : null}
        </div>
        <TableRegion label="Session timeline">
          <table className="timeline">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody aria-live={follow ? 'polite' : undefined}>
              {s.events.map((e) => (
                <TimelineRow key={e.seq} event={e} />
              ))}
            </tbody>
          </table>
        </TableRegion>
      </section>
      {(s.recordings ?? []).map((r) => (
        <Recording
          key={r.recording}
          title={recordingTitle(r, s.recordings?.length ?? 1)}
          location={`/api/v1/sessions/${encodeURIComponent(s.id)}/recording?n=${r.recording}`}
        />
      ))}
      <p>
        <Link to="/sessions">All sessions</Link>
      </p>
    </>
  );
}

function TimelineRow({ event }: { event: SessionEvent }) {
  const e = event.event;
  const text = (key: string) => {
    const value = e[key];
    return typeof value === 'string' ? value : undefined;
  };
  const count = (key: string) => {
    const value = e[key];
    return typeof value === 'number' ? value : 0;
  };
  let detail: ReactNode = null;
  switch (event.kind) {
    case 'command':
      detail = (
        <>
          <Badge
            value={text('decision') ?? '?'}
            kind={text('decision') === 'allow' ? 'ok' : text('decision') === 'deny' ? 'bad' : 'warn'}
          />{' '}
          <code className="sql">{text('command')}</code>
          {text('rule') ? <span className="muted"> rule {text('rule')}</span> : null}
          {text('message') ? <span className="muted">: {text('message')}</span> : null}
        </>
      );
      break;
    case 'command.result':
      detail = (
        <>
          {count('rows')} rows, {count('bytes')} bytes, {count('durationMs')} ms
          {Array.isArray(e['masked']) && e['masked'].length > 0 ? (
            <span className="muted"> · masked: {(e['masked'] as string[]).join(', ')}</span>
          ) : null}
          {text('error') ? <span className="error-text"> · error: {text('error')}</span> : null}
          {(['request', 'response'] as const).map((which) =>
            text(`${which}Body`) ? (
              <div key={which}>
                <span className="muted">
                  {which} body
                  {Array.isArray(e['bodyTruncated']) && (e['bodyTruncated'] as string[]).includes(which)
                    ? ' (first bytes)'
                    : ''}
                  :
                </span>
                <pre className="body">{text(`${which}Body`)}</pre>
              </div>
            ) : null,
          )}
          {Array.isArray(e['bodyNotes'])
            ? (e['bodyNotes'] as string[]).map((note) => (
                <div key={note} className="muted">
                  {note}
                </div>
              ))
            : null}
        </>
      );
      break;
    case 'session.open':
      detail = <>opened{text('agent') ? ` through ${text('agent')}` : ''}</>;
      break;
    case 'session.close':
      detail = (
        <>
          closed: {text('reason')}
          {text('detail') ? ` (${text('detail')})` : ''}
        </>
      );
      break;
    default:
      detail = <code>{JSON.stringify(e)}</code>;
  }
  return (
    <tr>
      <td>{event.seq}</td>
      <td>
        <time dateTime={event.at}>{new Date(event.at).toLocaleTimeString()}</time>
      </td>
      <td>{event.kind}</td>
      <td className="wrap">{detail}</td>
    </tr>
  );
}

/** "Recording" for a session's only one; otherwise which it is (a shell, an exec and its command). */
function recordingTitle(r: SessionRecording, count: number): string {
  const what = r.command ? `${r.kind}: ${r.command}` : r.kind;
  const state = r.truncated ? ', truncated' : r.complete ? '' : ', still recording';
  return count === 1 ? `Recording (${what}${state})` : `Recording ${r.recording} (${what}${state})`;
}

function Recording({ location, title }: { location: string; title: string }) {
  const { api } = useConsole();
  const [text, setText] = useState<string>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api
      .send('GET', location)
      .then((r) => r.text())
      .then(setText, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, [api, location]);
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {error ? <p className="note note-error">The recording could not be loaded: {error}</p> : null}
      {text ? <TerminalPlayer recording={text} /> : null}
    </section>
  );
}

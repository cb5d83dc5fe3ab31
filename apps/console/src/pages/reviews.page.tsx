import { useCallback, useState, type FormEvent } from 'react';
import type { Review } from '../api/types';
import { Badge, Empty, PageHeader, Time } from '../components/bits';
import { SelectField, TextAreaField, TextField } from '../components/fields';
import { ProblemNote } from '../components/problem-note';
import { useConsole } from '../context';
import { useAction, useResource } from '../hooks';
import { formatDuration } from '../lib/format';
import { Link, useLocation } from '../router';

/** The review inbox (approve or reject with a reason), your own requests, and asking for access. */
export function ReviewsPage() {
  const { me } = useConsole();
  const reviews = useResource<{ items: Review[] }>('/api/v1/reviews', 4000);
  const items = reviews.data?.items ?? [];
  const inbox = items.filter((r) => r.state === 'pending' && r.requester !== me.subject);
  const mine = items.filter((r) => r.requester === me.subject);
  const decided = items.filter((r) => r.state !== 'pending' && r.requester !== me.subject);
  return (
    <>
      <PageHeader title="Reviews" />
      <ProblemNote problem={reviews.error} />
      <section aria-labelledby="inbox-title">
        <h2 id="inbox-title">Waiting for your decision ({inbox.length})</h2>
        {reviews.data && inbox.length === 0 ? <Empty>Nothing waits for you.</Empty> : null}
        <ul className="cards">
          {inbox.map((r) => (
            <li key={r.id}>
              <ReviewCard review={r} onDecided={reviews.reload} />
            </li>
          ))}
        </ul>
      </section>
      <RequestAccess onRequested={reviews.reload} />
      <section aria-labelledby="mine-title">
        <h2 id="mine-title">Your requests</h2>
        {reviews.data && mine.length === 0 ? <Empty>You have not asked for anything.</Empty> : null}
        <ul className="cards">
          {mine.map((r) => (
            <li key={r.id}>
              <ReviewCard review={r} />
            </li>
          ))}
        </ul>
      </section>
      {decided.length > 0 ? (
        <section aria-labelledby="decided-title">
          <h2 id="decided-title">Decided</h2>
          <ul className="cards">
            {decided.slice(0, 20).map((r) => (
              <li key={r.id}>
                <ReviewCard review={r} />
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </>
  );
}

function ReviewCard({ review: r, onDecided }: { review: Review; onDecided?: () => void }) {
  const { api, nameOf, reloadAccess } = useConsole();
  const [comment, setComment] = useState('');
  const decide = useAction(
    useCallback(
      (verdict: 'approve' | 'reject', text: string) =>
        api.post<Review>(`/api/v1/reviews/${r.id}/${verdict}`, text.trim() ? { comment: text.trim() } : {}),
      [api, r.id],
    ),
  );
  const act = async (verdict: 'approve' | 'reject') => {
    if (await decide.run(verdict, comment)) {
      onDecided?.();
      await reloadAccess();
    }
  };
  const title =
    r.kind === 'access'
      ? `${nameOf(r.requester)} asks for ${r.verb ?? 'connect'} on ${r.connection}${r.durationSeconds ? ` for ${formatDuration(r.durationSeconds)}` : ''}`
      : `${nameOf(r.requester)} wants to run a command on ${r.connection}`;
  return (
    <article className="card review" aria-label={title}>
      <h3>
        <Badge value={r.state} /> {title}
      </h3>
      {r.kind === 'command' ? (
        <pre className="command-block">
          <code>{r.command}</code>
        </pre>
      ) : null}
      {r.reason ? (
        <p>
          <span className="label-inline">Reason:</span> {r.reason}
        </p>
      ) : null}
      <p className="muted small">
        Rule {r.rule} · needs {r.minApprovals} approval{r.minApprovals > 1 ? 's' : ''} from{' '}
        {r.approvers.join(', ')} · asked <Time iso={r.createdAt} />
        {r.state === 'pending' ? (
          <>
            {' '}
            · expires <Time iso={r.expiresAt} />
          </>
        ) : null}
        {r.grantExpiresAt ? (
          <>
            {' '}
            · access until <Time iso={r.grantExpiresAt} />
          </>
        ) : null}
        {r.sessionId ? (
          <>
            {' '}
            · <Link to={`/sessions/${r.sessionId}`}>session</Link>
          </>
        ) : null}
      </p>
      {r.decisions.length > 0 ? (
        <ul className="plain small">
          {r.decisions.map((d, i) => (
            <li key={i}>
              {nameOf(d.reviewer)} {d.decision === 'approve' ? 'approved' : 'rejected'} <Time iso={d.at} />
              {d.comment ? `: “${d.comment}”` : ''}
            </li>
          ))}
        </ul>
      ) : null}
      {onDecided && r.state === 'pending' ? (
        <div className="decide">
          <TextField
            label="Reason for your decision"
            value={comment}
            onChange={(e) => setComment(e.target.value)}
            placeholder="shown to the requester and kept in the audit log"
          />
          <div className="actions">
            <button
              type="button"
              className="primary"
              onClick={() => void act('approve')}
              disabled={decide.pending}
            >
              Approve
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => void act('reject')}
              disabled={decide.pending}
            >
              Reject
            </button>
          </div>
          <ProblemNote problem={decide.error} />
        </div>
      ) : null}
    </article>
  );
}

function RequestAccess({ onRequested }: { onRequested: () => void }) {
  const { api, access } = useConsole();
  const { query } = useLocation();
  const candidates = access.connections.filter((c) => c.requestable.length > 0);
  const [connection, setConnection] = useState(query.get('request') ?? candidates[0]?.name ?? '');
  const chosen = candidates.find((c) => c.name === connection);
  const [verb, setVerb] = useState<string>(chosen?.requestable[0] ?? 'connect');
  const [duration, setDuration] = useState('1h');
  const [reason, setReason] = useState('');
  const request = useAction(
    useCallback(
      (body: { connection: string; verb: string; duration: string; reason: string }) =>
        api.post<Review>('/api/v1/access-requests', body),
      [api],
    ),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await request.run({ connection, verb, duration: duration.trim(), reason: reason.trim() })) {
      setReason('');
      onRequested();
    }
  };
  const fieldError = (field: string) => request.error?.errors.find((e) => e.field === field)?.message;
  return (
    <section aria-labelledby="request-title" className="card">
      <h2 id="request-title">Request access</h2>
      {candidates.length === 0 ? (
        <p className="muted">The policy lets you request access to no connection.</p>
      ) : (
        <form className="form" onSubmit={(e) => void submit(e)} noValidate>
          <div className="form-grid">
            <SelectField
              label="Connection"
              value={connection}
              onChange={(e) => {
                setConnection(e.target.value);
                const next = candidates.find((c) => c.name === e.target.value);
                if (next && !next.requestable.includes(verb as 'connect'))
                  setVerb(next.requestable[0] ?? 'connect');
              }}
              options={candidates.map((c) => c.name)}
              error={fieldError('connection')}
            />
            <SelectField
              label="Verb"
              value={verb}
              onChange={(e) => setVerb(e.target.value)}
              options={chosen?.requestable ?? ['connect']}
              error={fieldError('verb')}
            />
            <TextField
              label="For how long"
              value={duration}
              onChange={(e) => setDuration(e.target.value)}
              hint="30m, 1h, 1h30m"
              error={fieldError('duration')}
            />
          </div>
          <TextAreaField
            label="Reason"
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            rows={2}
            required
            hint="Reviewers see it; it is kept in the audit log"
            error={fieldError('reason')}
          />
          {request.error && request.error.errors.length === 0 ? (
            <ProblemNote problem={request.error} />
          ) : null}
          {request.result ? (
            <p className="note note-ok" role="status">
              Requested: {request.result.approvers.join(', ')} will review it.
            </p>
          ) : null}
          <div className="actions">
            <button type="submit" className="primary" disabled={request.pending}>
              {request.pending ? 'Sending…' : 'Request access'}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

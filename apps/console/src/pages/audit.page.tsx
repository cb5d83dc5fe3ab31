import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { recordSummary } from '@tollgate/audit/record-summary';
import type { AuditEntry, AuditVerification } from '../api/types';
import { Badge, Empty, PageHeader, TableRegion, Time } from '../components/bits';
import { SelectField, TextField } from '../components/fields';
import { ProblemNote } from '../components/problem-note';
import { useConsole } from '../context';
import { asProblem, useAction } from '../hooks';
import type { ApiProblem } from '../api/problem';

const PAGE = 50;

/** The audit log, newest first: search, page back, export, and the hash-chain verification. */
export function AuditPage() {
  const { api, nameOf } = useConsole();
  const [subject, setSubject] = useState('');
  const [action, setAction] = useState('');
  const [decision, setDecision] = useState('');
  const [filters, setFilters] = useState(new URLSearchParams());
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [more, setMore] = useState(false);
  const [problem, setProblem] = useState<ApiProblem>();
  const [loading, setLoading] = useState(false);
  const verify = useAction(useCallback(() => api.get<AuditVerification>('/api/v1/audit/verify'), [api]));
  const exporting = useAction(
    useCallback(async () => {
      const response = await api.send('GET', '/api/v1/audit/export');
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = `tollgate-audit-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      return blob.size;
    }, [api]),
  );

  const load = useCallback(
    async (params: URLSearchParams, before?: string) => {
      setLoading(true);
      const query = new URLSearchParams(params);
      query.set('order', 'desc');
      query.set('limit', String(PAGE));
      if (before) query.set('before', before);
      try {
        const page = await api.get<{ items: AuditEntry[] }>(`/api/v1/audit?${query.toString()}`);
        setEntries((list) => (before ? [...list, ...page.items] : page.items));
        setMore(page.items.length === PAGE);
        setProblem(undefined);
      } catch (error) {
        setProblem(asProblem(error));
      } finally {
        setLoading(false);
      }
    },
    [api],
  );
  useEffect(() => {
    void load(filters);
  }, [load, filters]);

  const search = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (subject.trim()) next.set('subject', subject.trim());
    if (action.trim()) next.set('action', action.trim());
    if (decision) next.set('decision', decision);
    setFilters(next);
  };
  const result = verify.result;
  return (
    <>
      <PageHeader title="Audit">
        <button type="button" onClick={() => void verify.run()} disabled={verify.pending}>
          {verify.pending ? 'Verifying…' : 'Verify hash chains'}
        </button>
        <button type="button" onClick={() => void exporting.run()} disabled={exporting.pending}>
          {exporting.pending ? 'Exporting…' : 'Export (JSON lines)'}
        </button>
      </PageHeader>
      <ProblemNote problem={verify.error} />
      <ProblemNote problem={exporting.error} />
      {result ? (
        <div className={`note ${result.ok ? 'note-ok' : 'note-error'}`} role="status" aria-live="polite">
          {result.ok ? (
            <>
              <strong>Audit log intact.</strong> {result.global.count} records in the global chain (head #
              {result.global.head.seq}, <code>{result.global.head.hash.slice(0, 16)}…</code>),{' '}
              {result.sessions.checked} session chains with {result.sessions.events} events verified.
            </>
          ) : (
            <>
              <strong>The audit log was altered.</strong>
              <ul>
                {result.faults.map((f, i) => (
                  <li key={i}>
                    {f.chain === 'global' ? 'Global chain' : `Session ${f.chain}`}, record {f.seq}: {f.reason}{' '}
                    ({f.detail})
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      ) : null}
      <form className="form form-inline filters" onSubmit={search} aria-label="Search the audit log">
        <TextField
          label="Subject"
          value={subject}
          onChange={(e) => setSubject(e.target.value)}
          placeholder="user:… or sa:…"
        />
        <TextField
          label="Action"
          value={action}
          onChange={(e) => setAction(e.target.value)}
          placeholder="authorize:connect"
        />
        <SelectField
          label="Decision"
          value={decision}
          onChange={(e) => setDecision(e.target.value)}
          options={[['', 'any'], 'allow', 'deny']}
        />
        <div className="actions">
          <button type="submit">Search</button>
        </div>
      </form>
      <ProblemNote problem={problem} />
      {!loading && entries.length === 0 && !problem ? <Empty>No records match.</Empty> : null}
      {entries.length > 0 ? (
        <TableRegion label="Audit records">
          <table>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Decision</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.seq}>
                  <td>{e.seq}</td>
                  <td>
                    <Time iso={e.at} />
                  </td>
                  <td title={e.subject}>
                    {nameOf(e.subject)}
                    {actorsOf(e).length > 0 ? (
                      <span className="muted"> via {actorsOf(e).map(nameOf).join(' ← ')}</span>
                    ) : null}
                  </td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td className="wrap">{e.target ?? '—'}</td>
                  <td>
                    <Badge value={e.decision} />
                  </td>
                  <td className="wrap">{recordSummary(e)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      ) : null}
      {more ? (
        <button type="button" onClick={() => void load(filters, entries.at(-1)?.seq)} disabled={loading}>
          {loading ? 'Loading…' : 'Load older records'}
        </button>
      ) : null}
    </>
  );
}

/** The actors a delegated token acted through, first the one nearest the subject. */
function actorsOf(e: AuditEntry): string[] {
  return Array.isArray(e.actorChain)
    ? e.actorChain.flatMap((a: unknown) =>
        typeof (a as { subject?: unknown })?.subject === 'string' ? [(a as { subject: string }).subject] : [],
      )
    : [];
}

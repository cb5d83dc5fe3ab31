import { useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { readJsonLines } from '../api/api-client';
import type { ApiProblem } from '../api/problem';
import type { QueryEvent, StatementResult } from '../api/types';
import { Empty, PageHeader, TableRegion } from '../components/bits';
import { SelectField, TextAreaField } from '../components/fields';
import { ProblemNote } from '../components/problem-note';
import { useConsole } from '../context';
import { asProblem } from '../hooks';
import { Link, useLocation } from '../router';

interface Run {
  sessionId?: string;
  agent?: string;
  notices: string[];
  results: StatementResult[];
  done?: { statements: number; failed: number; ms: number };
  error?: string;
}

/**
 * Runs SQL on a PostgreSQL or MySQL connection through the same session pipeline as `tollgate exec`:
 * guardrails decide each statement, results arrive masked, and a statement that needs approval
 * waits here until a reviewer decides.
 */
export function QueryPage() {
  const { api, access } = useConsole();
  const { query } = useLocation();
  const usable = access.connections.filter(
    (c) => c.verbs.includes('exec') && (c.protocol === 'postgres' || c.protocol === 'mysql'),
  );
  // A link may name a connection this page cannot run (another protocol, no exec): the first usable one.
  const asked = query.get('connection');
  const [connection, setConnection] = useState(
    usable.some((c) => c.name === asked) ? (asked as string) : (usable[0]?.name ?? ''),
  );
  const [sql, setSql] = useState('select now();');
  const [run, setRun] = useState<Run>();
  const [problem, setProblem] = useState<ApiProblem>();
  const [running, setRunning] = useState(false);
  const abort = useRef<AbortController>(undefined);

  const execute = async (event?: FormEvent) => {
    event?.preventDefault();
    if (running || !connection || !sql.trim()) return;
    const controller = new AbortController();
    abort.current = controller;
    setRunning(true);
    setProblem(undefined);
    const current: Run = { notices: [], results: [] };
    setRun({ ...current });
    try {
      const response = await api.send(
        'POST',
        `/api/v1/connections/${encodeURIComponent(connection)}/query`,
        { sql },
        controller.signal,
      );
      await readJsonLines<QueryEvent>(response, (line) => {
        switch (line.type) {
          case 'session':
            current.sessionId = line.sessionId;
            current.agent = line.agent;
            break;
          case 'notice':
            current.notices = [...current.notices, line.message];
            break;
          case 'result': {
            const { type: _type, ...result } = line;
            current.results = [...current.results, result];
            break;
          }
          case 'done':
            current.done = { statements: line.statements, failed: line.failed, ms: line.ms };
            break;
          case 'error':
            current.error = line.message;
            break;
        }
        setRun({ ...current });
      });
    } catch (error) {
      if (controller.signal.aborted) {
        current.error = 'Cancelled: the session was ended.';
        setRun({ ...current });
      } else setProblem(asProblem(error));
    } finally {
      setRunning(false);
      abort.current = undefined;
    }
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) void execute();
  };

  return (
    <>
      <PageHeader title="Query" />
      {usable.length === 0 ? (
        <Empty>
          No PostgreSQL or MySQL connection lets you run queries (the <code>exec</code> verb).{' '}
          <Link to="/reviews">Request access</Link>.
        </Empty>
      ) : (
        <form className="form" onSubmit={(e) => void execute(e)}>
          <SelectField
            label="Connection"
            value={connection}
            onChange={(e) => setConnection(e.target.value)}
            options={usable.map((c) => c.name)}
          />
          <TextAreaField
            label="SQL"
            value={sql}
            onChange={(e) => setSql(e.target.value)}
            onKeyDown={onKeyDown}
            rows={6}
            spellCheck={false}
            className="code-input"
            hint="Ctrl+Enter runs. Every statement is decided by the policy and recorded; results are masked as it says."
          />
          <div className="actions">
            <button type="submit" className="primary" disabled={running}>
              {running ? 'Running…' : 'Run'}
            </button>
            {running ? (
              <button type="button" onClick={() => abort.current?.abort()}>
                Cancel
              </button>
            ) : null}
          </div>
        </form>
      )}
      <ProblemNote problem={problem} title="The query did not run" />
      {run ? <RunView run={run} running={running} /> : null}
    </>
  );
}

function RunView({ run, running }: { run: Run; running: boolean }) {
  return (
    <section aria-labelledby="results-title" aria-busy={running}>
      <h2 id="results-title">Results</h2>
      {run.sessionId ? (
        <p className="muted small">
          Session <Link to={`/sessions/${run.sessionId}`}>{run.sessionId.slice(0, 8)}</Link> through agent{' '}
          {run.agent}
          {run.done ? ` · ${run.done.statements} statement(s), ${run.done.ms} ms` : ''}
        </p>
      ) : null}
      <div aria-live="polite">
        {run.notices.map((notice, i) => (
          <p key={i} className="note" role="status">
            {notice}
          </p>
        ))}
        {running && run.notices.length > 0 && run.results.length === 0 ? (
          <p className="muted">Waiting for the statement to be decided…</p>
        ) : null}
      </div>
      {run.results.map((result, i) => (
        <ResultView key={i} index={i} result={result} />
      ))}
      {run.error ? (
        <p className="note note-error" role="alert">
          {run.error}
        </p>
      ) : null}
    </section>
  );
}

function ResultView({ result, index }: { result: StatementResult; index: number }) {
  if (result.error) {
    return (
      <div className="note note-error" role="alert">
        <strong>ERROR {result.error.code}</strong>: {result.error.message}
        {result.error.detail ? <div className="small">{result.error.detail}</div> : null}
      </div>
    );
  }
  if (result.columns.length === 0) return <p className="result-tag">{result.tag}</p>;
  return (
    <div className="result">
      <TableRegion label={`Result ${index + 1}`}>
        <table className="data">
          <thead>
            <tr>
              {result.columns.map((column, i) => (
                <th key={i} scope="col">
                  {column}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {result.rows.map((row, r) => (
              <tr key={r}>
                {row.map((value, c) => (
                  <td key={c}>{value === null ? <span className="null">NULL</span> : value}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
      <p className="result-tag">
        {result.tag}
        {result.truncated ? ` (showing the first ${result.rows.length} rows)` : ''}
      </p>
    </div>
  );
}

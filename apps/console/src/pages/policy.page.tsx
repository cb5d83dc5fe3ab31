import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ActivePolicy, DryRun, PolicyVersionDetail, PolicyVersionSummary } from '../api/types';
import { Badge, Loading, PageHeader, TableRegion, Time } from '../components/bits';
import { DiffView } from '../components/diff-view';
import { TextField } from '../components/fields';
import { ProblemNote } from '../components/problem-note';
import { YamlEditor } from '../components/yaml-editor';
import { useConsole } from '../context';
import { useAction, useResource } from '../hooks';
import { diagnosticsFromProblems, lintPolicy } from '../lib/policy-lint';
import { Link } from '../router';

/** Edit the policy (validated as you type), review the change and its live impact, apply, restore. */
export function PolicyPage() {
  const { api, reloadAccess, nameOf } = useConsole();
  const active = useResource<ActivePolicy>('/api/v1/policy');
  const versions = useResource<{ items: PolicyVersionSummary[] }>('/api/v1/policy/versions');
  const [draft, setDraft] = useState<string>();
  const [comment, setComment] = useState('');
  const [applied, setApplied] = useState<number | null>();
  const [shown, setShown] = useState<number>();

  useEffect(() => {
    if (active.data && draft === undefined) setDraft(active.data.document);
  }, [active.data, draft]);

  const text = draft ?? '';
  const local = useMemo(() => lintPolicy(text), [text]);
  const dryRun = useAction(
    useCallback(
      (document: string) => api.post<DryRun>('/api/v1/policy/dry-run', { document, fileName: 'policy.yaml' }),
      [api],
    ),
  );
  const apply = useAction(
    useCallback(
      (document: string, note: string) =>
        api.post<ActivePolicy>('/api/v1/policy', {
          document,
          fileName: 'policy.yaml',
          ...(note.trim() ? { comment: note.trim() } : {}),
        }),
      [api],
    ),
  );
  const restore = useAction(
    useCallback(
      (version: number) => api.post<{ version: number }>(`/api/v1/policy/versions/${version}/restore`),
      [api],
    ),
  );
  const detail = useResource<PolicyVersionDetail>(
    shown === undefined ? null : `/api/v1/policy/versions/${shown}`,
  );

  // The gateway's own verdict wins while the text is the one it judged.
  const serverProblems = apply.error?.errors.some((e) => e.line !== undefined)
    ? apply.error.errors
    : dryRun.error?.errors;
  const diagnostics =
    local.length > 0 ? local : serverProblems ? diagnosticsFromProblems(serverProblems) : [];
  const unchanged = active.data !== undefined && text === active.data.document;

  const edit = (value: string) => {
    setDraft(value);
    setApplied(undefined);
    apply.reset();
    dryRun.reset();
  };
  const doApply = async () => {
    const result = await apply.run(text, comment);
    if (!result) return;
    setApplied(result.version);
    setComment('');
    dryRun.reset();
    active.reload();
    versions.reload();
    await reloadAccess();
  };
  const doRestore = async (version: number) => {
    if (!window.confirm(`Make version ${version} active again (as a new version)?`)) return;
    const result = await restore.run(version);
    if (!result) return;
    setDraft(undefined);
    setApplied(result.version);
    active.reload();
    versions.reload();
    await reloadAccess();
  };

  if (!active.data || draft === undefined) {
    return (
      <>
        <PageHeader title="Policy" />
        <ProblemNote problem={active.error} />
        {!active.error ? <Loading what="the active policy" /> : null}
      </>
    );
  }
  return (
    <>
      <PageHeader title="Policy">
        <span className="muted">
          Active:{' '}
          {active.data.version === null
            ? `the ${active.data.source} default`
            : `version ${active.data.version}`}
        </span>
      </PageHeader>
      {applied !== undefined ? (
        <p className="note note-ok" role="status">
          Version {applied ?? 'default'} is active and is being pushed to every agent.
        </p>
      ) : null}
      <ProblemNote problem={restore.error} />
      <section aria-labelledby="editor-title">
        <h2 id="editor-title" className="visually-hidden">
          Editor
        </h2>
        <YamlEditor label="Policy document (YAML)" value={text} diagnostics={diagnostics} onChange={edit} />
        <p className="muted small">
          The schema is in <code>docs/policy.md</code>; the document is checked with the gateway’s own
          validator as you type.
        </p>
        <div className="actions">
          <button
            type="button"
            onClick={() => void dryRun.run(text)}
            disabled={dryRun.pending || local.length > 0 || unchanged}
          >
            {dryRun.pending ? 'Checking…' : 'Review changes (dry run)'}
          </button>
          <button type="button" onClick={() => edit(active.data!.document)} disabled={unchanged}>
            Discard changes
          </button>
        </div>
        {dryRun.error && !dryRun.error.errors.some((e) => e.line !== undefined) ? (
          <ProblemNote problem={dryRun.error} />
        ) : null}
      </section>

      {dryRun.result ? (
        <section aria-labelledby="review-title" className="card">
          <h2 id="review-title">
            Changes against{' '}
            {dryRun.result.activeVersion === null
              ? 'the default policy'
              : `version ${dryRun.result.activeVersion}`}
          </h2>
          {dryRun.result.changes.length === 0 ? (
            <p className="muted">No rule changes (formatting or comments only).</p>
          ) : (
            <ul className="plain">
              {dryRun.result.changes.map((c, i) => (
                <li key={i}>
                  <Badge
                    value={c.change}
                    kind={c.change === 'removed' ? 'bad' : c.change === 'added' ? 'ok' : 'warn'}
                  />{' '}
                  {c.section}
                  {c.name ? ` ${c.name}` : ''}
                </li>
              ))}
            </ul>
          )}
          <h3>Diff</h3>
          <DiffView diff={dryRun.result.diff} label="Diff against the active version" />
          <h3>Live sessions affected</h3>
          {dryRun.result.sessions.length === 0 ? (
            <p className="muted">No live session would be affected.</p>
          ) : (
            <TableRegion label="Live sessions affected">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Session</th>
                    <th scope="col">Who</th>
                    <th scope="col">Connection</th>
                    <th scope="col">Effect</th>
                  </tr>
                </thead>
                <tbody>
                  {dryRun.result.sessions.map((s) => (
                    <tr key={s.sessionId}>
                      <td>
                        <Link to={`/sessions/${s.sessionId}`}>{s.sessionId.slice(0, 8)}</Link>
                      </td>
                      <td>{nameOf(s.subject)}</td>
                      <td>{s.connection}</td>
                      <td>
                        {s.impacts.join(', ')}
                        {s.reason ? `: ${s.reason}` : ''}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableRegion>
          )}
          <div className="apply-row">
            <TextField
              label="Comment for the history"
              value={comment}
              onChange={(e) => setComment(e.target.value)}
              placeholder="why this change"
            />
            <button
              type="button"
              className="primary"
              onClick={() => void doApply()}
              disabled={apply.pending || diagnostics.length > 0}
            >
              {apply.pending ? 'Applying…' : 'Apply this policy'}
            </button>
          </div>
        </section>
      ) : null}
      {apply.error && !apply.error.errors.some((e) => e.line !== undefined) ? (
        <ProblemNote problem={apply.error} />
      ) : null}
      {apply.error && apply.error.errors.some((e) => e.line !== undefined) ? (
        <p className="note note-error" role="alert">
          The gateway refused the document: see the problems marked in the editor.
        </p>
      ) : null}

      <section aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        <ProblemNote problem={versions.error} />
        {versions.data ? (
          <TableRegion label="Policy versions">
            <table>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">When</th>
                  <th scope="col">Author</th>
                  <th scope="col">Comment</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {versions.data.items.map((v) => (
                  <tr key={v.version}>
                    <td>
                      v{v.version} {v.active ? <Badge value="active" /> : null}
                    </td>
                    <td>
                      <Time iso={v.createdAt} />
                    </td>
                    <td>{nameOf(v.author)}</td>
                    <td className="wrap">{v.comment ?? '—'}</td>
                    <td className="row-actions">
                      <button
                        type="button"
                        className="button-small"
                        aria-expanded={shown === v.version}
                        onClick={() => setShown(shown === v.version ? undefined : v.version)}
                      >
                        {shown === v.version ? 'Hide' : 'Show'}
                        <span className="visually-hidden"> version {v.version}</span>
                      </button>
                      {!v.active ? (
                        <button
                          type="button"
                          className="button-small"
                          onClick={() => void doRestore(v.version)}
                          disabled={restore.pending}
                        >
                          Restore<span className="visually-hidden"> version {v.version}</span>
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
                {versions.data.items.length === 0 ? (
                  <tr>
                    <td colSpan={5} className="muted">
                      No version applied yet: the {active.data.source} default is in force.
                    </td>
                  </tr>
                ) : null}
              </tbody>
            </table>
          </TableRegion>
        ) : null}
        {shown !== undefined && detail.data ? (
          <div className="card">
            <h3>
              Version {detail.data.version} against{' '}
              {detail.data.previousVersion === null
                ? 'nothing before it'
                : `version ${detail.data.previousVersion}`}
            </h3>
            <DiffView diff={detail.data.diff} label={`Diff of version ${detail.data.version}`} />
          </div>
        ) : null}
      </section>
    </>
  );
}

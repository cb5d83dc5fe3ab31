import type { ApiProblem } from '../api/problem';

/** An error from the gateway, with each field's problem; announced to screen readers. */
export function ProblemNote({ problem, title }: { problem: ApiProblem | undefined; title?: string }) {
  if (!problem) return null;
  const fields = problem.errors.filter((e) => e.line === undefined);
  return (
    <div className="note note-error" role="alert">
      <strong>{title ?? problem.title}</strong>
      {problem.detail && fields.length === 0 ? <span>: {problem.detail}</span> : null}
      {fields.length > 0 ? (
        <ul>
          {fields.map((e, i) => (
            <li key={i}>
              {e.field ? <code>{e.field}</code> : null} {e.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

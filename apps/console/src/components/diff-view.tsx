/** A unified diff with added and removed lines marked (by colour, and by their +/- for everyone). */
export function DiffView({ diff, label }: { diff: string; label: string }) {
  if (!diff.trim()) return <p className="muted">No textual changes.</p>;
  return (
    <div className="diff" role="region" aria-label={label} tabIndex={0}>
      {diff.split('\n').map((line, i) => {
        const kind =
          line.startsWith('+++') || line.startsWith('---')
            ? 'diff-file'
            : line.startsWith('@@')
              ? 'diff-hunk'
              : line.startsWith('+')
                ? 'diff-add'
                : line.startsWith('-')
                  ? 'diff-del'
                  : 'diff-ctx';
        return (
          <div key={i} className={`diff-line ${kind}`}>
            {line || ' '}
          </div>
        );
      })}
    </div>
  );
}

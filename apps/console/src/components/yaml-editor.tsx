import { useId, useRef, type UIEvent } from 'react';
import type { Diagnostic } from '../lib/policy-lint';

interface Props {
  readonly label: string;
  readonly value: string;
  readonly diagnostics: readonly Diagnostic[];
  onChange: (value: string) => void;
}

/**
 * A plain-text editor for YAML with line numbers and each validation message shown at its line:
 * the line is marked in the gutter and highlighted, and the message sits at the end of the line.
 * A textarea underneath everything keeps native editing, undo, selection and screen reader support;
 * the messages are also listed below it as buttons that move the cursor to their line.
 */
export function YamlEditor({ label, value, diagnostics, onChange }: Props) {
  const id = useId();
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const backdrop = useRef<HTMLDivElement>(null);
  const lines = value.split('\n');
  const byLine = new Map<number, Diagnostic[]>();
  for (const d of diagnostics) byLine.set(d.line, [...(byLine.get(d.line) ?? []), d]);

  const sync = (event: UIEvent<HTMLTextAreaElement>) => {
    const { scrollTop, scrollLeft } = event.currentTarget;
    if (gutter.current) gutter.current.scrollTop = scrollTop;
    if (backdrop.current) {
      backdrop.current.scrollTop = scrollTop;
      backdrop.current.scrollLeft = scrollLeft;
    }
  };

  const goTo = (line: number, column: number) => {
    const textarea = area.current;
    if (!textarea) return;
    let offset = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i]!.length + 1;
    offset += Math.max(0, Math.min(column - 1, lines[line - 1]?.length ?? 0));
    textarea.focus();
    textarea.setSelectionRange(offset, offset);
    const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 20;
    textarea.scrollTop = Math.max(0, (line - 3) * lineHeight);
  };

  return (
    <div className="yaml-editor">
      <label htmlFor={id}>{label}</label>
      <div className={`editor${diagnostics.length ? ' editor-invalid' : ''}`}>
        <div className="editor-gutter" ref={gutter} aria-hidden="true">
          {lines.map((_, i) => (
            <div key={i} className={byLine.has(i + 1) ? 'gutter-line gutter-error' : 'gutter-line'}>
              {i + 1}
            </div>
          ))}
        </div>
        <div className="editor-body">
          <div className="editor-backdrop" ref={backdrop} aria-hidden="true">
            {lines.map((line, i) => {
              const here = byLine.get(i + 1);
              return (
                <div key={i} className={here ? 'backdrop-line backdrop-error' : 'backdrop-line'}>
                  <span className="backdrop-text">{line || ' '}</span>
                  {here ? (
                    <span className="inline-diagnostic">{here.map((d) => d.message).join('; ')}</span>
                  ) : null}
                </div>
              );
            })}
          </div>
          <textarea
            id={id}
            ref={area}
            value={value}
            onChange={(e) => onChange(e.target.value)}
            onScroll={sync}
            spellCheck={false}
            autoCapitalize="off"
            autoComplete="off"
            wrap="off"
            aria-invalid={diagnostics.length > 0}
            aria-describedby={`${id}-problems`}
          />
        </div>
      </div>
      <div id={`${id}-problems`} aria-live="polite">
        {diagnostics.length === 0 ? (
          <p className="note note-ok small">The document is valid.</p>
        ) : (
          <ul className="diagnostics" aria-label="Problems in the document">
            {diagnostics.map((d, i) => (
              <li key={i}>
                <button type="button" className="link-button" onClick={() => goTo(d.line, d.column)}>
                  Line {d.line}, column {d.column}
                </button>
                : {d.message}
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}

import { useEffect, useState, type ReactNode } from 'react';
import { formatRelative } from '../lib/format';

/** A time, shown relative ("3 min ago") with the exact time on hover and for assistive technology. */
export function Time({ iso }: { iso: string | null | undefined }) {
  const [, setNow] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setNow((n) => n + 1), 30_000);
    return () => clearInterval(timer);
  }, []);
  if (!iso) return <span className="muted">never</span>;
  const date = new Date(iso);
  return (
    <time dateTime={iso} title={date.toLocaleString()}>
      {formatRelative(date)}
    </time>
  );
}

const BADGE_KINDS: Record<string, string> = {
  online: 'ok',
  open: 'ok',
  allow: 'ok',
  approved: 'ok',
  active: 'ok',
  offline: 'muted',
  closed: 'muted',
  expired: 'muted',
  opening: 'warn',
  pending: 'warn',
  deny: 'bad',
  rejected: 'bad',
};

export function Badge({ value, kind }: { value: string; kind?: string }) {
  return <span className={`badge badge-${kind ?? BADGE_KINDS[value] ?? 'muted'}`}>{value}</span>;
}

/** Copies text to the clipboard; says so, or selects the text's element for a manual copy. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = () => {
    // The clipboard API exists only in secure contexts (https, or http on localhost).
    if (!('clipboard' in navigator)) return setState('failed');
    navigator.clipboard.writeText(text).then(
      () => setState('copied'),
      () => setState('failed'),
    );
  };
  return (
    <button type="button" className="button-small" onClick={copy} aria-label={label}>
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select the text' : 'Copy'}
    </button>
  );
}

/** A table that scrolls sideways on narrow screens; the scrolling region is focusable and named. */
export function TableRegion({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · Tollgate`;
  }, [title]);
  return (
    <div className="page-header">
      <h1>{title}</h1>
      {children ? <div className="page-actions">{children}</div> : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

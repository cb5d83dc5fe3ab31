import {
  BUILTIN_DETECTORS,
  customDetector,
  type BuiltinDetectorName,
  type ContentDetector,
} from './detectors';

const BUILTIN_ORDER = Object.keys(BUILTIN_DETECTORS) as BuiltinDetectorName[];

export type MaskDetectorSpec =
  | { readonly kind: 'builtin'; readonly name: BuiltinDetectorName }
  | { readonly kind: 'custom'; readonly name: string; readonly pattern: string };

/** What to mask: content detectors and column globs (`table.column` or `schema.table.column`). */
export interface MaskingSpec {
  readonly detectors: readonly MaskDetectorSpec[];
  readonly columns: readonly string[];
}

/**
 * How a value must stay valid after masking: `text` takes any string, `number` only digits (masked
 * digits become 0), `opaque` types (dates, uuids, binary) cannot take a masked string and become NULL
 * when a column rule masks them.
 */
export type ValueKind = 'text' | 'number' | 'opaque';

export interface ColumnRef {
  readonly schema?: string;
  readonly table?: string;
  readonly column: string;
}

export interface MaskOutcome {
  readonly value: string | null;
  /** Names of the detectors (or `column`) that changed the value; empty if nothing did. */
  readonly reasons: readonly string[];
}

/** Compiled masking rules for one session: regexes are built once, applied to every value. */
export class Masker {
  private constructor(
    private readonly detectors: readonly ContentDetector[],
    private readonly columnPatterns: readonly { readonly parts: number; readonly regex: RegExp }[],
  ) {}

  static readonly none = new Masker([], []);

  static compile(specs: readonly MaskingSpec[]): Masker {
    const detectors = new Map<string, ContentDetector>();
    const columns: { parts: number; regex: RegExp }[] = [];
    for (const spec of specs) {
      for (const detector of spec.detectors) {
        detectors.set(
          detector.name,
          detector.kind === 'builtin'
            ? BUILTIN_DETECTORS[detector.name]
            : customDetector(detector.name, detector.pattern),
        );
      }
      for (const glob of spec.columns) columns.push(compileColumnGlob(glob));
    }
    // Specific detectors run before general ones (a card number is not also a phone number).
    const order = (d: ContentDetector) => {
      const index = (BUILTIN_ORDER as readonly string[]).indexOf(d.name);
      return index === -1 ? BUILTIN_ORDER.length : index;
    };
    return new Masker(
      [...detectors.values()].sort((a, b) => order(a) - order(b)),
      columns,
    );
  }

  /** Whether any column rule applies (then results are masked by lineage, not only by name). */
  get masksColumns(): boolean {
    return this.columnPatterns.length > 0;
  }

  get active(): boolean {
    return this.detectors.length > 0 || this.columnPatterns.length > 0;
  }

  /** Whether any content detector applies (then every value must be read). */
  get detectsContent(): boolean {
    return this.detectors.length > 0;
  }

  isMaskedColumn(ref: ColumnRef): boolean {
    if (!ref.table) return false;
    const twoPart = `${ref.table}.${ref.column}`;
    const threePart = `${ref.schema ?? 'public'}.${ref.table}.${ref.column}`;
    return this.columnPatterns.some((p) => p.regex.test(p.parts === 3 ? threePart : twoPart));
  }

  /** The whole value of a masked column, in a form its type still accepts. */
  maskColumnValue(value: string, kind: ValueKind): MaskOutcome {
    if (kind === 'opaque') return { value: null, reasons: ['column'] };
    if (kind === 'number') return { value: '0', reasons: ['column'] };
    return { value: '*'.repeat(Math.min(Math.max([...value].length, 1), 8)), reasons: ['column'] };
  }

  /**
   * A value made from a masked column other than as the column itself (a cast, a function, a whole
   * row): nothing of it is kept, not even its length.
   */
  maskWhole(kind: ValueKind): MaskOutcome {
    if (kind === 'opaque') return { value: null, reasons: ['derived'] };
    return { value: kind === 'number' ? '0' : '********', reasons: ['derived'] };
  }

  /** Applies the content detectors; unchanged values come back with no reasons. */
  maskContent(value: string, kind: ValueKind): MaskOutcome {
    let out = value;
    const reasons: string[] = [];
    for (const detector of this.detectors) {
      let hit = false;
      const replace = (text: string) =>
        text.replace(detector.pattern, (candidate) => {
          if (detector.accept && !detector.accept(candidate)) return candidate;
          hit = true;
          return detector.replace(candidate);
        });
      out =
        detector.anchor && out.length > ANCHOR_WINDOW * 4
          ? replaceAroundAnchors(out, detector.anchor, replace)
          : replace(out);
      if (hit) reasons.push(detector.name);
    }
    if (reasons.length > 0 && kind === 'number') out = out.replace(/\*/g, '0');
    return { value: out, reasons };
  }
}

/** Half-width of the window around an anchor: longer than any match of an anchored detector. */
const ANCHOR_WINDOW = 512;

function replaceAroundAnchors(value: string, anchor: string, replace: (text: string) => string): string {
  const windows: [number, number][] = [];
  for (let at = value.indexOf(anchor); at !== -1; at = value.indexOf(anchor, at + 1)) {
    const start = Math.max(0, at - ANCHOR_WINDOW);
    const end = Math.min(value.length, at + ANCHOR_WINDOW);
    const last = windows[windows.length - 1];
    if (last && start <= last[1]) last[1] = end;
    else windows.push([start, end]);
  }
  if (windows.length === 0) return value;
  let out = '';
  let from = 0;
  for (const [start, end] of windows) {
    out += value.slice(from, start) + replace(value.slice(start, end));
    from = end;
  }
  return out + value.slice(from);
}

function compileColumnGlob(glob: string): { parts: number; regex: RegExp } {
  const parts = glob.split('.');
  const source = parts.map((part) => part.split('*').map(escapeRegex).join('[^.]*')).join('\\.');
  return { parts: parts.length, regex: new RegExp(`^${source}$`, 'i') };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A line diff of two documents in unified format (`-` removed, `+` added, ` ` context), with
 * `context` unchanged lines around each change and `@@` hunk headers. Good enough for policy
 * documents (thousands of lines at most); longer inputs are shown as a whole replacement.
 */
export function unifiedDiff(before: string, after: string, context = 3): string {
  const a = splitLines(before);
  const b = splitLines(after);
  const ops = diffLines(a, b);
  if (ops.every((op) => op.kind === ' ')) return '';
  const out: string[] = [];
  let i = 0;
  while (i < ops.length) {
    if (ops[i].kind === ' ') {
      i++;
      continue;
    }
    const start = Math.max(0, i - context);
    let end = i;
    // Extend the hunk while changes are closer than 2 * context lines apart.
    for (;;) {
      while (end < ops.length && ops[end].kind !== ' ') end++;
      let next = end;
      while (next < ops.length && ops[next].kind === ' ') next++;
      if (next < ops.length && next - end <= 2 * context) end = next;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    const hunk = ops.slice(start, stop);
    const first = hunk[0];
    const aCount = hunk.filter((op) => op.kind !== '+').length;
    const bCount = hunk.filter((op) => op.kind !== '-').length;
    out.push(`@@ -${first.aLine + 1},${aCount} +${first.bLine + 1},${bCount} @@`);
    for (const op of hunk) out.push(`${op.kind}${op.text}`);
    i = stop;
  }
  return `${out.join('\n')}\n`;
}

interface Op {
  readonly kind: ' ' | '-' | '+';
  readonly text: string;
  /** Index of the line in `a` (for '-' and ' ') or of the next line of `a` (for '+'). */
  readonly aLine: number;
  readonly bLine: number;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

const MAX_CELLS = 4_000_000;

function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) {
    return [
      ...a.map((text, i) => ({ kind: '-' as const, text, aLine: i, bLine: 0 })),
      ...b.map((text, j) => ({ kind: '+' as const, text, aLine: n, bLine: j })),
    ];
  }
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', text: a[i], aLine: i, bLine: j });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push({ kind: '-', text: a[i], aLine: i, bLine: j });
      i++;
    } else {
      ops.push({ kind: '+', text: b[j], aLine: i, bLine: j });
      j++;
    }
  }
  return ops;
}

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as prettier from 'prettier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Regenerates the wire contract from proto/ exactly as `npm run proto` does (same buf template,
// same prettier configuration) into a temporary directory and compares it with the committed
// output, so a .proto edited without regenerating fails CI instead of shipping a stale contract.

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const committedDir = path.join(repoRoot, 'libs', 'proto', 'src', 'generated');
const fix = 'Run `npm run proto` at the repository root and commit the result.';

let scratchDir: string | undefined;
// Relative path (as under libs/proto/src/generated) → freshly generated and formatted content.
const regenerated = new Map<string, string>();

function listFiles(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      return entry.isDirectory()
        ? listFiles(root, full)
        : [path.relative(root, full).split(path.sep).join('/')];
    })
    .sort();
}

beforeAll(async () => {
  scratchDir = mkdtempSync(path.join(tmpdir(), 'tollgate-proto-'));
  // `--output` is prepended to the template's `out`, so the fresh copy lands in
  // <scratch>/libs/proto/src/generated. cwd is the repo root because the template names the
  // ts-proto plugin by a path relative to it.
  execFileSync(
    process.execPath,
    [
      path.join(repoRoot, 'node_modules', '@bufbuild', 'buf', 'bin', 'buf'),
      'generate',
      '--template',
      'buf.gen.yaml',
      '--output',
      scratchDir,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const regeneratedDir = path.join(scratchDir, 'libs', 'proto', 'src', 'generated');

  // The same prettier pass as `npm run proto`, with the options resolved for the committed path so
  // any path-specific override in the repo's prettier config applies identically.
  for (const file of listFiles(regeneratedDir)) {
    const target = path.join(committedDir, file);
    const options = await prettier.resolveConfig(target, { editorconfig: true });
    const scratchFile = path.join(regeneratedDir, file);
    const formatted = await prettier.format(readFileSync(scratchFile, 'utf8'), {
      ...options,
      filepath: target,
    });
    regenerated.set(file, formatted);
  }
});

afterAll(() => {
  if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
});

describe('libs/proto/src/generated', () => {
  it('has exactly the files buf generates from proto/', () => {
    const expected = [...regenerated.keys()].sort();
    const committed = listFiles(committedDir);
    const missing = expected.filter((f) => !committed.includes(f));
    const extra = committed.filter((f) => !expected.includes(f));
    expect(
      { missing, extra },
      `libs/proto/src/generated is out of date (missing: ${missing.join(', ') || 'none'}; ` +
        `no longer generated: ${extra.join(', ') || 'none'}). ${fix}`,
    ).toEqual({ missing: [], extra: [] });
  });

  it('matches what buf generates from proto/, file by file', () => {
    const stale = [...regenerated.entries()]
      .filter(([file, content]) => {
        try {
          return readFileSync(path.join(committedDir, file), 'utf8') !== content;
        } catch {
          return false; // reported as missing by the test above
        }
      })
      .map(([file]) => `libs/proto/src/generated/${file}`);
    expect(stale, `stale generated code in ${stale.join(', ')}. ${fix}`).toEqual([]);
  });

  it('is fully re-exported by the package entry point', () => {
    const index = readFileSync(path.join(repoRoot, 'libs', 'proto', 'src', 'index.ts'), 'utf8');
    const notExported = [...regenerated.keys()]
      .map((file) => `./generated/${file.replace(/\.ts$/, '')}`)
      .filter((specifier) => !index.includes(`'${specifier}'`));
    expect(notExported, `libs/proto/src/index.ts does not re-export ${notExported.join(', ')}`).toEqual([]);
  });
});

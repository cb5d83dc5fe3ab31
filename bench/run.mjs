// Benchmark runner: `npm run bench [-- suite ...]`. Each suite prints its table and returns it as
// Markdown; the runner replaces that suite's section of docs/benchmarks.md (between
// <!-- bench:NAME --> markers), so suites can be re-run one at a time without losing the others.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const suites = {
  startup: () => import('./suites/startup.mjs'),
  tunnel: () => import('./suites/tunnel.mjs'),
  audit: () => import('./suites/audit.mjs'),
  postgres: () => import('./suites/postgres.mjs'),
  'postgres-lineage': () => import('./suites/postgres-lineage.mjs'),
  'postgres-audit': () => import('./suites/postgres-audit.mjs'),
  mysql: () => import('./suites/mysql.mjs'),
  http: () => import('./suites/http.mjs'),
  ssh: () => import('./suites/ssh.mjs'),
};

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(suites);
const unknown = wanted.filter((name) => !(name in suites));
if (unknown.length) {
  console.error(`unknown suite(s): ${unknown.join(', ')}; known: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}

const docPath = join(root, 'docs', 'benchmarks.md');
let doc = existsSync(docPath)
  ? readFileSync(docPath, 'utf8')
  : '# Benchmarks\n\nWritten by `npm run bench`; do not edit the sections by hand.\n';
const machine = `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;

for (const name of wanted) {
  console.log(`\n== ${name} ==`);
  const { run } = await suites[name]();
  const markdown = await run({ root, log: (line) => console.log(line) });
  const section = `<!-- bench:${name} -->\n${markdown.trim()}\n\nMeasured ${new Date().toISOString().slice(0, 10)} on ${machine}.\n<!-- /bench:${name} -->`;
  const pattern = new RegExp(`<!-- bench:${name} -->[\\s\\S]*?<!-- /bench:${name} -->`);
  doc = pattern.test(doc) ? doc.replace(pattern, section) : `${doc.trimEnd()}\n\n${section}\n`;
  writeFileSync(docPath, doc);
}
console.log(`\nwrote ${docPath}`);

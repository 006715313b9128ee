// Compiles src/ and test/ (the files tsconfig.test.json names) once into dist-test/, so a test
// run starts each test file as plain JavaScript instead of tap's TypeScript loader compiling
// every imported module again in every test process (about 2 s a file on a 2-core machine).
// One file at a time (ts.transpileModule, no type check): tsconfig.json sets isolatedModules,
// so that is what tsc would emit; `npm run typecheck` does the checking. A file is compiled
// again only when its source is newer than its output; outputs whose source is gone are
// removed, so a deleted module can never be loaded from here by mistake.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, 'dist-test');
const PROJECT = path.join(ROOT, 'tsconfig.test.json');
// Written last: its options differ from this run's, or it is missing → compile everything.
const STAMP = path.join(OUT, '.options.json');

const mtime = (file) => {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return -1;
  }
};

// The compiled path of a source: dist-test/ mirrors the repository (rootDir ".").
const outputOf = (source) => path.join(OUT, path.relative(ROOT, source)).replace(/\.ts$/, '.js');

function readProject(ts) {
  const parsed = ts.getParsedCommandLineOfConfigFile(PROJECT, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail(ts, d) });
  if (parsed.errors.length) fail(ts, parsed.errors[0]);
  // Inline source maps: a failing assertion's stack and source excerpt point at the .ts line.
  const options = { ...parsed.options, noEmit: false, inlineSourceMap: true, inlineSources: true, sourceMap: false };
  return { files: parsed.fileNames.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), options };
}

function fail(ts, diagnostic) {
  process.stderr.write(`compile-tests: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}\n`);
  process.exit(2);
}

function removeOrphans(dir, keep) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) removeOrphans(p, keep);
    else if (p !== STAMP && !keep.has(p)) fs.rmSync(p);
  }
}

// Brings dist-test/ up to date; returns the absolute paths of the sources it holds.
function compileTests() {
  const ts = require('typescript');
  const { files, options } = readProject(ts);
  const stamp = JSON.stringify({ typescript: ts.version, options });
  const fresh = fs.existsSync(STAMP) && fs.readFileSync(STAMP, 'utf8') === stamp;
  if (!fresh) fs.rmSync(OUT, { recursive: true, force: true });
  for (const source of files) {
    const output = outputOf(source);
    if (fresh && mtime(output) >= mtime(source)) continue;
    const { outputText, diagnostics } = ts.transpileModule(fs.readFileSync(source, 'utf8'), { fileName: source, compilerOptions: options, reportDiagnostics: true });
    if (diagnostics && diagnostics.length) fail(ts, diagnostics[0]);
    fs.mkdirSync(path.dirname(output), { recursive: true });
    fs.writeFileSync(output, outputText);
  }
  removeOrphans(OUT, new Set(files.map(outputOf)));
  fs.writeFileSync(STAMP, stamp);
  return files;
}

module.exports = { compileTests, outputOf, ROOT, OUT };

if (require.main === module) compileTests();

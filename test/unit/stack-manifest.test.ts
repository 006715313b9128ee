// faassctl up --gateway's upload (api/stack-manifest.ts): the manifest the server trusts none of,
// and the unpacked tree against it. Every refusal is FAASS_E_UPLOAD_INVALID (HTTP 400) naming the
// field; a good manifest comes back as the specs upStack takes.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkManifest, checkCodeTree } from '../../src/api/stack-manifest';
import { FaassError } from '../../src/core/errors';

const node = (name: string, extra: Record<string, unknown> = {}) => ({ name, input: { runtime: 'node', file: 'handler.js', convention: 'openfaas-http', env: { A: 'b' } }, code: `fn/${name}`, ...extra });

function refusal(f: () => unknown): string {
  try {
    f();
    return 'accepted';
  } catch (e) {
    return e instanceof FaassError ? `${e.code}: ${e.message}` : `${(e as Error).name}: ${(e as Error).message}`;
  }
}

t.test('a good manifest', async (t) => {
  const m = checkManifest({ functions: [node('a'), { name: 'img', input: { runtime: 'docker', image: 'nginx:1', kind: 'service', port: 8080, memory_max: 134217728 } }], filter: ['a'], message: 'release 2', dry_run: true });
  t.same(m.functions.map((f) => f.code ?? null), ['fn/a', null]);
  t.equal(m.functions[1].input.port, '8080', 'numbers become the text a function file holds');
  t.same(m.filter, ['a']);
  t.equal(m.message, 'release 2');
  t.equal(m.dryRun, true);
  t.equal(checkManifest({ functions: [node('a', { code: 'fn/a/handler.js' })] }).functions[0].code, 'fn/a/handler.js', 'a single file');
  t.equal(checkManifest({ functions: [node('a')] }).dryRun, false);
});

t.test('refusals name the field', async (t) => {
  const cases: [unknown, RegExp, string][] = [
    [[], /the manifest: expected a JSON object/, 'not an object'],
    [{ functions: [node('a')], extra: 1 }, /unknown field "extra"/, 'an unknown field'],
    [{ functions: [] }, /functions: expected a list of at least one/, 'no function'],
    [{ functions: [node('../x')] }, /functions\[0\]\.name: "\.\.\/x" is not a valid function name/, 'a bad name'],
    [{ functions: [node('a'), node('a')] }, /a is named twice/, 'a name twice'],
    [{ functions: [node('a', { code: 'fn/b' })] }, /functions\.a\.code: expected "fn\/a" or "fn\/a\/FILE"/, "another function's code"],
    [{ functions: [node('a', { code: 'fn/a/../../etc' })] }, /functions\.a\.code: expected/, 'a path out'],
    [{ functions: [node('a', { code: 'fn/a/..' })] }, /functions\.a\.code: expected/, 'a dot-dot file'],
    [{ functions: [node('a', { code: undefined })] }, /functions\.a: no code: its settings run a handler/, 'a handler without code'],
    [{ functions: [{ name: 'a', input: { runtime: 'docker', build: '.' } }] }, /functions\.a: no code/, 'a build without code'],
    [{ functions: [node('a', { input: { runtime: 'docker', build: '/etc' } })] }, /functions\.a\.input\.build: a directory inside the function's code/, 'a host path to build'],
    [{ functions: [node('a', { input: { runtime: 'docker', build: 'x/../..' } })] }, /input\.build: a directory inside/, 'a build path out'],
    [{ functions: [node('a', { input: { runtime: 'node', ExecStart: '/bin/sh' } })] }, /functions\.a\.input: unknown field "ExecStart"/, 'a key no function file has'],
    [{ functions: [node('a', { input: { runtime: 'node', timeout: [1] } })] }, /functions\.a\.input\.timeout: expected a string, number or boolean/, 'a list for a scalar'],
    [{ functions: [node('a', { input: { runtime: 'node', env: { A: 1 } } })] }, /functions\.a\.input\.env\.A: expected a string/, 'an env value not text'],
    [{ functions: [node('a')], filter: 'a' }, /filter: expected a list of function names/, 'filter not a list'],
    [{ functions: [node('a')], message: 'two\nlines' }, /one line/, 'a message of two lines'],
    [{ functions: [node('a')], dry_run: 'yes' }, /dry_run: expected true or false/, 'dry_run not a boolean'],
  ];
  for (const [m, re, what] of cases) {
    const r = refusal(() => checkManifest(m));
    t.match(r, /^FAASS_E_(UPLOAD_INVALID: stack\.json: |USAGE: )/, `${what}: a 4xx (${r})`);
    t.match(r, re, what);
  }
});

t.test('the unpacked tree against its manifest', async (t) => {
  const tree = (files: Record<string, string>, manifest?: unknown): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-stack-manifest-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    for (const [f, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), text);
    }
    if (manifest !== undefined) fs.writeFileSync(path.join(dir, 'stack.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
    return dir;
  };
  const two = { functions: [node('a'), node('b', { code: 'fn/b/handler.js' })] };
  const ok = checkCodeTree(tree({ 'fn/a/handler.js': 'x', 'fn/a/lib/util.js': 'y', 'fn/b/handler.js': 'z' }, two));
  t.same(ok.functions.map((f) => f.name), ['a', 'b'], 'code in place: accepted');
  t.match(refusal(() => checkCodeTree(tree({ 'fn/a/handler.js': 'x' }))), /UPLOAD_INVALID: The archive has no stack\.json/, 'no manifest');
  t.match(refusal(() => checkCodeTree(tree({ 'fn/a/handler.js': 'x' }, '{"functions": ['))), /stack\.json: not valid JSON/, 'a manifest not JSON');
  t.match(refusal(() => checkCodeTree(tree({ 'fn/a/handler.js': 'x' }, two))), /functions\.b\.code: the archive has no file fn\/b\/handler\.js/, 'a function named with no code');
  t.match(refusal(() => checkCodeTree(tree({ 'fn/a': 'x', 'fn/b/handler.js': 'z' }, two))), /functions\.a\.code: the archive has no directory fn\/a/, 'a file where its directory should be');
  t.match(refusal(() => checkCodeTree(tree({ 'fn/a/handler.js': 'x', 'fn/b/handler.js': 'z', 'fn/b/more.js': 'm' }, two))), /fn\/b\/ holds more than the file/, 'more than the single file');
  t.match(refusal(() => checkCodeTree(tree({ 'fn/a/handler.js': 'x', 'fn/b/handler.js': 'z', 'fn/c/handler.js': 'c' }, two))), /fn\/c: code for no function of the manifest/, 'code no function claims');
  t.match(refusal(() => checkCodeTree(tree({ 'fn/a/handler.js': 'x', 'fn/b/handler.js': 'z', 'etc/passwd': 'p' }, two))), /The archive holds "etc"; only stack\.json and fn\/NAME\//, 'anything else at the top');
});

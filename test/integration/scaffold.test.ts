// faassctl new writes a function whose own test passes, and faassctl invoke --local runs it as
// its runner would, with no gateway or user manager (issue 12: a function's own tests and CI).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { FAASSCTL } from '../support/sandbox';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const run = (cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Run> =>
  new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as unknown as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });

// A home of its own: --local must need no faass set up, no systemd and no gateway.
function home(t: { teardown(f: () => void): void }): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-new-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, XDG_CONFIG_HOME: `${dir}/config`, XDG_DATA_HOME: `${dir}/data`, XDG_STATE_HOME: `${dir}/state`, XDG_RUNTIME_DIR: `${dir}/runtime` };
  delete env.FAASS_GATEWAY;
  return { dir, env };
}

const TESTS: Record<string, string[]> = { node: ['node', '--test'], python: ['python3', '-m', 'unittest'], exec: ['sh', 'test.sh'] };
const HANDLERS: Record<string, string> = { node: 'handler.js', python: 'handler.py', exec: 'handler.sh' };

t.test('faassctl new: a handler, its passing test, and a local run of it', async (t) => {
  const { dir, env } = home(t);
  const faassctl = (...args: string[]) => run(process.execPath, [FAASSCTL, ...args], { cwd: dir, env });
  for (const lang of ['node', 'python', 'exec']) {
    const name = `hi-${lang}`;
    const made = await faassctl('new', name, '--lang', lang);
    t.equal(made.code, 0, `new --lang ${lang}: ${made.stderr}`);
    const fnDir = path.join(dir, name);
    t.ok(fs.existsSync(path.join(fnDir, 'README.md')), `${lang}: a README`);
    const tested = await run(TESTS[lang][0], TESTS[lang].slice(1), { cwd: fnDir });
    t.equal(tested.code, 0, `${lang}: its own test passes (${TESTS[lang].join(' ')}) ${tested.stdout}${tested.stderr}`);
    const local = await faassctl('invoke', name, '--local', '--runtime', lang, '--from-file', path.join(name, HANDLERS[lang]), '-d', 'you');
    t.equal(local.code, 0, `${lang}: invoke --local: ${local.stderr}`);
    t.equal(local.stdout, `hello you from ${name}\n`, `${lang}: the answer, as faass would give it`);
    const readme = fs.readFileSync(path.join(fnDir, 'README.md'), 'utf8');
    t.match(readme, `faassctl deploy ${name} --runtime ${lang} --from-file ${HANDLERS[lang]}`, `${lang}: the README says how to deploy it`);
  }
  const again = await faassctl('new', 'hi-node', '--lang', 'node');
  t.equal(again.code, 2, 'a directory that is not empty is refused');
  t.match(again.stderr, /hi-node is not empty/);
  t.equal(fs.readFileSync(path.join(dir, 'hi-node', 'handler.js'), 'utf8').includes('hello'), true, 'and its files are left alone');
  const badName = await faassctl('new', 'Bad_Name', '--lang', 'node');
  t.not(badName.code, 0, 'a bad name is refused');
  t.match(badName.stderr, /FAASS_E_NAME_INVALID/);
  t.notOk(fs.existsSync(path.join(dir, 'Bad_Name')), 'and nothing is written');
  const badLang = await faassctl('new', 'x', '--lang', 'ruby');
  t.not(badLang.code, 0, 'an unknown language is refused');
  t.notOk(fs.existsSync(path.join(dir, 'x')), 'and nothing is written');
});

t.test('faassctl invoke --local: the runner\'s answers and errors, with exit codes', async (t) => {
  const { dir, env } = home(t);
  const faassctl = (...args: string[]) => run(process.execPath, [FAASSCTL, ...args], { cwd: dir, env });
  const echo = await faassctl('invoke', 'env', '--local', '--command', 'env', '-X', 'PUT', '--path', '/a/b?x=1', '-H', 'X-Y: z');
  t.equal(echo.code, 0);
  t.match(echo.stdout, /^Http_Method=PUT$/m, 'the method reaches the function');
  t.match(echo.stdout, /^Http_Path=\/a\/b$/m, 'the path');
  t.match(echo.stdout, /^Http_Query=x=1$/m, 'the query');
  t.match(echo.stdout, /^Http_X_Y=z$/m, 'a header');
  fs.writeFileSync(path.join(dir, 'boom.js'), 'exports.handler = () => { throw new Error("boom"); };\n');
  const boom = await faassctl('invoke', 'boom', '--local', '--runtime', 'node', '--from-file', 'boom.js');
  t.equal(boom.code, 5, 'a handler that throws: exit 5');
  t.match(boom.stderr, /HTTP 500 FAASS_E_FUNCTION_FAILED/);
  const slow = await faassctl('invoke', 'slow', '--local', '--command', 'sleep 30', '--timeout', '1s');
  t.match(slow.stderr, /HTTP 504 FAASS_E_FUNCTION_TIMEOUT: Function slow timed out after 1s/, 'a call past its timeout is killed, as deployed');
  t.not(slow.code, 0);
  const missing = await faassctl('invoke', 'nope', '--local');
  t.equal(missing.code, 3, 'a function neither given nor deployed: exit 3');
  t.match(missing.stderr, /FAASS_E_FUNCTION_NOT_FOUND/);
  const noFile = await faassctl('invoke', 'nope', '--local', '--runtime', 'node', '--from-file', 'missing.js');
  t.equal(noFile.code, 2, 'a missing file: exit 2');
  t.match(noFile.stderr, /Cannot read missing\.js/);
  const remote = await faassctl('invoke', 'env', '--local', '--command', 'env', '--gateway', 'http://127.0.0.1:1');
  t.equal(remote.code, 2, '--local with --gateway is refused');
});

// README.md's own command lines, run as a new user runs them (issue 12): extracted from its "Set
// up" and "Use it" code blocks (test/support/readme.ts), in a clean HOME, with the installed
// faassctl first on PATH, once with a user manager (install.sh starts faass) and once without
// one (install.sh starts nothing; the README's faassctl serve runs faass). The checks are one
// function run against both: serve and the socket-activated gateway share the gateway's modules,
// so what passes against one must pass against the other. A README line that does not work as
// written is a README bug: fix the README, not this test.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, execFile } from 'node:child_process';
import { startSandbox, freePort, request, waitFor, ROOT, Run } from '../support/sandbox';
import { findLine, readmeSections, withPorts, without } from '../support/readme';

const { lines, where } = readmeSections('Set up', 'Use it');
const readme = (start: string, having = '') => findLine(lines, where, start, having);

// How a run of faass looks to the checks: its gateway port, the README's ports mapped to this
// run's, the clean environment a new user's shell has, where that user types.
interface Mode {
  port: number;
  ports: Record<string, number>;
  env: NodeJS.ProcessEnv;
  cwd: string;
  // the README's deploy web line for this mode (serve runs no process service in a network of
  // its own: the README gives the line for it)
  service: string;
  serve: boolean; // faassctl serve runs faass, not a user manager
  prefix: string[]; // with a user manager, its sandbox's (sandbox.ts): its mount namespace, with its journal
}

// The user's shell: the installed faassctl first on PATH, node, the system's tools; nothing of
// the test runner's environment.
function userEnv(home: string, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const PATH = [path.join(home, '.local/bin'), path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/sbin', '/sbin'].join(':');
  return { PATH, HOME: home, LANG: 'C.UTF-8', ...extra };
}

// curl as the README's lines call it, with the answer's status on a last line of its own, so a
// line runs unchanged and the test still sees the status.
const CURL = `curl() { command curl -sS --write-out '\\n%{http_code}' "$@"; }\n`;

function bash(m: Mode, command: string, env: NodeJS.ProcessEnv = {}, cwd = m.cwd): Promise<Run> {
  return new Promise((resolve) =>
    execFile(m.prefix[0] ?? 'bash', [...m.prefix.slice(1), ...(m.prefix.length ? ['bash'] : []), '-c', CURL + withPorts(command, m.ports)], { env: { ...m.env, ...env }, cwd, timeout: 300000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

// A curl line's answer: the body, and the status the wrapper above put last.
function answer(r: Run): { status: number; body: string } {
  const i = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
}

// A README line that runs until stopped (faassctl serve, logs -f), in a process group of its own
// so that stopping it ends what it started too; its output so far.
function background(m: Mode, command: string) {
  const child = spawn(m.prefix[0] ?? 'bash', [...m.prefix.slice(1), ...(m.prefix.length ? ['bash'] : []), '-c', `exec ${withPorts(command, m.ports)}`], { env: m.env, cwd: m.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const stop = async () => {
    try {
      if (!gone) process.kill(-(child.pid as number), 'SIGTERM');
    } catch {
      // it ended as we asked
    }
    return exited;
  };
  return { out: () => out, err: () => err, stop };
}

// install.sh as the README says to run it, from the checkout, on this run's port (the README
// names --port's default, 8080).
function install(m: Mode): Promise<Run> {
  return bash(m, `${readme('./install.sh')} --port ${m.port}`, {}, ROOT);
}

// What the README's "Use it" promises, against whatever runs faass.
async function useIt(t: Test, m: Mode): Promise<void> {
  // The README line starting `start`, run; it must exit 0.
  const ran = async (start: string, env: NodeJS.ProcessEnv = {}) => {
    const line = readme(start);
    const r = await bash(m, line, env);
    t.equal(r.code, 0, `${line}: exits 0 ${r.stderr}`);
    return r;
  };

  const hello = answer(await ran('curl -d you'));
  t.same(hello, { status: 200, body: 'Hello, you!\n' }, 'the example function answers');

  await ran('faassctl deploy echo --command cat');
  t.equal((await ran('faassctl invoke echo')).stdout, 'hello', 'a function deployed after start answers');

  const token = (await ran('faassctl credentials add ci')).stdout.trim();
  t.match(token, /^ci\.\S+$/, 'a credential added after start prints its token');
  fs.writeFileSync(path.join(m.cwd, 'report.sh'), '#!/bin/sh\necho "report on $(cat)"\n', { mode: 0o755 });
  await ran('faassctl deploy report');
  const call = readme('curl -H "Authorization: Bearer $TOKEN"');
  t.same(answer(await bash(m, call, { TOKEN: token })), { status: 200, body: 'report on x\n' }, 'its token opens the function');
  const refused = answer(await bash(m, without(call, '-H "Authorization: Bearer $TOKEN" '), { TOKEN: token }));
  t.equal(refused.status, 401, `and without it the call is refused: ${refused.body}`);

  const web = await bash(m, m.service);
  t.equal(web.code, 0, `${m.service}: exits 0 ${web.stderr}`);
  const page = await request(m.port, '/function/web/', { method: 'GET', timeoutMs: 60000 });
  t.equal(page.status, 200, `the service answers: ${page.body.slice(0, 200)}`);
  t.match(page.body, /Directory listing for \//, "with python's http.server page");

  // faassctl logs echo -f prints the call's line (the README line runs until stopped).
  const follow = background(m, readme('faassctl logs echo -f'));
  const callLine = /call=(\S+) function=echo status=200/;
  await waitFor('the echo call in faassctl logs echo -f', () => callLine.test(follow.out()), 30000).catch(() => undefined);
  await follow.stop();
  t.match(follow.out(), callLine, `faassctl logs echo -f shows the call ${follow.err()}`);
  const id = callLine.exec(follow.out())?.[1] ?? 'none';
  // The id through the environment, not the line: withPorts rewrites 8080 in a command line, and
  // a call id can hold it (70b9ef61-38ff-4622-8080-4054a2eeace7 did, and matched no line).
  const one = await bash(m, readme('faassctl logs echo --call').replace(/ID$/, '"$CALL_ID"'), { CALL_ID: id });
  t.match(one.stdout, `call=${id} function=echo status=200`, 'faassctl logs echo --call ID shows that call', { code: one.code, stderr: one.stderr, followed: follow.out().slice(-2000) });

  // faassctl status: a row per function with its calls, counted as the answers go out.
  // FUNCTION  KIND  SOCKET  PROCESS  RUNNING  CALLS  5XX  LAST CALL: columns two spaces apart
  const row = (out: string, fn: string) => {
    const cols = out.split('\n').find((l) => l.startsWith(`${fn} `))?.split(/\s{2,}/);
    return { socket: cols?.[2], calls: Number(cols?.[5] ?? 0) };
  };
  const status = () => bash(m, readme('faassctl status'));
  await waitFor('the echo and web calls in faassctl status', async () => {
    const out = (await status()).stdout;
    return ['echo', 'web'].every((fn) => row(out, fn).calls > 0);
  }, 30000).catch(() => undefined);
  const s = await status();
  t.equal(s.code, 0, `faassctl status exits 0: ${s.stderr}`);
  t.same(['hello', 'echo', 'report', 'web'].map((fn) => [fn, row(s.stdout, fn)]), [
    ['hello', { socket: 'listening', calls: row(s.stdout, 'hello').calls || 'at least 1' }],
    ['echo', { socket: 'listening', calls: 1 }],
    ['report', { socket: 'listening', calls: row(s.stdout, 'report').calls || 'at least 1' }],
    ['web', { socket: 'listening', calls: 1 }],
  ], `faassctl status shows each function listening, and its calls:\n${s.stdout}`);

  // Asynchronous: queued at once with its id, delivered by the dispatcher (the path unit's, or
  // serve's), shown by faassctl calls show ID.
  const callId = (await ran('faassctl invoke --async hello')).stdout.trim();
  t.match(callId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'faassctl invoke --async prints the call id');
  const shown = () => bash(m, readme('faassctl calls show').replace(/ID$/, '"$CALL_ID"'), { CALL_ID: callId });
  await waitFor('the queued call to be done', async () => / done \(HTTP 200, /.test((await shown()).stdout), 60000).catch(() => undefined);
  t.match((await shown()).stdout, new RegExp(`^${callId}  hello  done \\(HTTP 200, `), 'faassctl calls show ID: done, answered 200');

  // Versions: echo deployed again, listed, rolled back in one step.
  await ran("faassctl deploy echo --command 'tr");
  t.equal((await ran('faassctl invoke echo')).stdout, 'HELLO', 'the new version answers');
  t.match((await ran('faassctl versions echo')).stdout, /\bshout\b/, 'faassctl versions lists it with its message');
  await ran('faassctl rollback echo');
  t.equal((await ran('faassctl invoke echo')).stdout, 'hello', 'rolled back: the version before answers again');

  // A canary and its promote; serve runs none, and the line says so.
  const canary = await bash(m, readme('faassctl deploy echo --command rev --canary'));
  if (m.serve) {
    t.equal(canary.code, 6, 'under serve a canary is refused');
    t.match(canary.stderr, /^faassctl: [^\n]*canar[^\n]*\n$/, `with one line: ${canary.stderr}`);
  } else {
    t.equal(canary.code, 0, `the canary line exits 0 ${canary.stderr}`);
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 2; i++) seen.add((await ran('faassctl invoke echo')).stdout);
    t.same([...seen].sort(), ['hello', 'olleh'], 'calls reach both the current version and the canary');
    await ran('faassctl promote echo');
    t.equal((await ran('faassctl invoke echo')).stdout, 'olleh', 'promoted: the canary answers every call');
  }

  // A secret, read by the function from its credentials, never given on a command line.
  fs.writeFileSync(path.join(m.cwd, 'orders.sh'), '#!/bin/sh\nprintf "db password is %s" "$(cat "$CREDENTIALS_DIRECTORY/db")"\n', { mode: 0o755 });
  await ran('printf %s "$DB_PASSWORD" | faassctl secret create db', { DB_PASSWORD: 'pa55-readme' });
  await ran('faassctl deploy orders');
  t.equal((await bash(m, 'faassctl invoke orders -d x')).stdout, 'db password is pa55-readme', 'the function reads its secret');

  // An OpenFaaS stack file from examples/, as a user who cloned the repository runs it.
  const up = await bash(m, readme('faassctl up -f'), {}, ROOT);
  t.equal(up.code, 0, `faassctl up -f examples/stacks/node/stack.yml exits 0 ${up.stderr}`);
  t.equal((await bash(m, 'faassctl invoke greet')).stdout, 'Hello, world!', 'its node18 handler answers unchanged');
}

t.test('with a user manager: install.sh starts faass', async (t) => {
  const sb = await startSandbox(t);
  const home = sb.env.HOME as string;
  const cwd = path.join(sb.dir, 'work');
  fs.mkdirSync(cwd);
  const xdg = Object.fromEntries(Object.entries(sb.env).filter(([k]) => k.startsWith('XDG_')));
  // The service's own port stays: it is in a network of its own.
  const m: Mode = { port: sb.port, ports: { 8080: sb.port }, env: userEnv(home, xdg), cwd, service: readme('faassctl deploy web --kind service --port 9001 --command'), serve: false, prefix: sb.prefix };
  const inst = await install(m);
  t.equal(inst.code, 0, `install.sh exits 0: ${inst.stderr}`);
  t.match(inst.stdout, /the gateway at 127\.0\.0\.1:\d+ answers/, 'and says the gateway answers');
  await useIt(t, m);
});

t.test('without a user manager: install.sh, then faassctl serve', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-readme-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const home = path.join(dir, 'home');
  const runtime = path.join(dir, 'runtime');
  const cwd = path.join(dir, 'work');
  for (const d of [home, cwd]) fs.mkdirSync(d);
  fs.mkdirSync(runtime, { mode: 0o700 });
  const port = await freePort();
  // The service shares the host's network under serve: a port of this run's.
  const m: Mode = { port, ports: { 8080: port, 9001: await freePort() }, env: userEnv(home, { XDG_RUNTIME_DIR: runtime }), cwd, service: readme('faassctl deploy web', '--network host'), serve: true, prefix: [] };
  const inst = await install(m);
  t.equal(inst.code, 0, `install.sh exits 0: ${inst.stderr}`);
  t.match(inst.stdout, /nothing was started/, 'it says it started nothing');

  const serve = background(m, readme('faassctl serve'));
  t.teardown(() => serve.stop());
  const up = await waitFor('faassctl serve to answer', async () => (await request(port, '/healthz', { method: 'GET' }).catch(() => ({ status: 0 }))).status === 200, 30000).then(
    () => true,
    () => false,
  );
  if (!up) return void t.fail(`faassctl serve answers on its port: ${serve.err()}`);
  await useIt(t, m);
  t.equal(await serve.stop(), 0, `serve stops cleanly: ${serve.err().slice(-2000)}`);
});

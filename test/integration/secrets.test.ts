// Secrets as systemd credentials (issue 15), as an ordinary user with a real user manager: a
// function reads its secret from $CREDENTIALS_DIRECTORY and from OpenFaaS's path; the value is in
// no file of faass's but the store, no answer of the API or faassctl, no journal line, not in its
// runner's environment; a new value reaches the next cold call (and a warm runner is restarted);
// a deploy naming a missing secret changes nothing; a value on the command line is refused.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { randomBytes } from 'node:crypto';
import { spawn, execFile } from 'node:child_process';
import { startSandbox, setupGateway, request, waitFor, writeFixture, unitState, faassPids, freePort, FAASSCTL, TEST_USER, Sandbox } from '../support/sandbox';
import { sandboxJournal } from '../support/journal';
import { startEngine, BUSYBOX } from '../support/docker';

// Where OpenFaaS handlers read secrets: a user manager cannot make the mount point under /var
// (install.sh does, as root). scripts/test.js makes it for the whole run and removes it after;
// made here too when this file runs on its own, never removed here: another file's units may
// bind it.
const OPENFAAS = '/var/openfaas/secrets';

function ensureMountPoint(): void {
  fs.mkdirSync(OPENFAAS, { recursive: true, mode: 0o755 });
}

// Every regular file under dir, by path, with its bytes (as root: the sandbox user's 0600 files too).
function filesUnder(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(p, fs.readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

const call = (sb: Sandbox) => request(sb.port, '/function/reader', { body: 'x' });

// A service's app (kind=service) answering what it reads at each request: the secret from
// $CREDENTIALS_DIRECTORY and from /var/openfaas/secrets (where the mount point exists), "-" for
// a place it cannot read.
const APP = `import http.server, os
def read(p):
    try:
        return open(p).read()
    except OSError:
        return '-'
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ('%s|%s' % (read(os.path.join(os.environ.get('CREDENTIALS_DIRECTORY', '/nonexistent'), 'api-key')), read('/var/openfaas/secrets/api-key'))).encode()
        self.send_response(200)
        self.send_header('content-length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()
`;

t.test('a function reads its secret; the value is nowhere else; rotation; refusals', async (t) => {
  ensureMountPoint();
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 1);
  const v1 = `v1-${randomBytes(12).toString('hex')}`;
  const v2 = `v2-${randomBytes(12).toString('hex')}`;
  const v3 = `v3-${randomBytes(12).toString('hex')}`;

  const arg = await sb.faassctl('secret', 'create', 'api-key', v1);
  t.equal(arg.code, 2, 'a value given as an argument: exit 2');
  t.match(arg.stderr, /no value argument.*stdin or with --from-file/);
  t.notMatch(arg.stderr + arg.stdout, v1, 'and the refusal does not repeat it');
  t.equal((await sb.faassctl('secret', 'ls', '--json')).stdout.trim(), '[]', 'nothing was stored');

  const made = await sb.run(process.execPath, [sb.faassctlPath, 'secret', 'create', 'api-key'], { input: v1 });
  t.equal(made.code, 0, `secret create from stdin ${made.stderr}`);
  t.match(made.stdout, /Created secret api-key \(27 bytes\)/);

  // Both places, in one answer: $CREDENTIALS_DIRECTORY/NAME|/var/openfaas/secrets/NAME
  const script = writeFixture(sb, 'reader.sh', '#!/bin/sh\nprintf \'%s|%s\' "$(cat "$CREDENTIALS_DIRECTORY/api-key")" "$(cat /var/openfaas/secrets/api-key)"\n', 0o755);
  const dep = await sb.faassctl('deploy', 'reader', '--runtime', 'exec', '--from-file', script, '--secret', 'api-key', '--idle', '1');
  t.equal(dep.code, 0, `deploy --secret api-key ${dep.stderr}`);
  const first = await call(sb);
  t.equal(first.status, 200, first.body);
  t.equal(first.body, `${v1}|${v1}`, 'the function reads the secret from $CREDENTIALS_DIRECTORY and from /var/openfaas/secrets');

  // Its runner's environment names the directory, not the value.
  const pids = faassPids(sb, 'faass-fn-reader.service');
  t.ok(pids.length > 0, 'the runner runs');
  for (const pid of pids) t.notOk(fs.readFileSync(`/proc/${pid}/environ`).includes(v1), `no value in the environment of ${pid}`);

  // A deploy naming a secret that does not exist: refused, and nothing changes.
  const file = path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'functions', 'reader.conf');
  const before = fs.readFileSync(file, 'utf8');
  const bad = await sb.faassctl('deploy', 'reader', '--runtime', 'exec', '--from-file', script, '--secret', 'api-key', '--secret', 'nope');
  t.equal(bad.code, 3, `naming a missing secret: exit 3 ${bad.stderr}`);
  t.match(bad.stderr, /Function reader names a secret that does not exist: nope .*FAASS_E_SECRET_NOT_FOUND/);
  t.equal(fs.readFileSync(file, 'utf8'), before, "the function's file is as it was");
  const fresh = await sb.faassctl('deploy', 'other', '--command', 'cat', '--secret', 'nope');
  t.equal(fresh.code, 3, 'a new function naming one: exit 3');
  t.notOk(fs.existsSync(path.join(path.dirname(file), 'other.conf')), 'and it is not made');
  t.notMatch((await sb.systemctl('list-unit-files', 'faass-fn-other*')).stdout, /faass-fn-other/, 'nor its units');
  const versions = await sb.faassctl('versions', 'reader', '--json');
  t.equal((JSON.parse(versions.stdout) as unknown[]).length, 1, 'nor a version');

  // Removal is refused while a function names it.
  const rm = await sb.faassctl('secret', 'rm', 'api-key');
  t.equal(rm.code, 2, 'secret rm of a secret in use: exit 2');
  t.match(rm.stderr, /named by function reader: deploy it without --secret api-key first \(FAASS_E_SECRET_IN_USE\)/);

  // A service's app reads its secret as a function does. Idle long enough to be warm at the
  // rotation below, which must restart it.
  const app = writeFixture(sb, 'svc/app.py', APP);
  const svcDep = await sb.faassctl('deploy', 'svc', '--kind', 'service', '--port', String(await freePort()), '--command', 'python3 app.py', '--from-file', path.dirname(app), '--secret', 'api-key', '--idle', '120');
  t.equal(svcDep.code, 0, `deploy --kind service --secret api-key ${svcDep.stderr}`);
  const svcCall = async () => (await request(sb.port, '/function/svc/', { method: 'GET' })).body;
  t.equal(await svcCall(), `${v1}|${v1}`, "a service's app reads its secret from $CREDENTIALS_DIRECTORY and from /var/openfaas/secrets");
  for (const pid of faassPids(sb, 'faass-fn-svc-app.service')) t.notOk(fs.readFileSync(`/proc/${pid}/environ`).includes(v1), `no value in the environment of the app's ${pid}`);
  t.equal(await unitState(sb, 'faass-fn-svc-app.service'), 'active/running', 'the app runs, warm, before the rotation');

  // Rotation while a runner may be warm: it is restarted once its calls are done.
  t.equal((await call(sb)).status, 200);
  const rot = await sb.run(process.execPath, [sb.faassctlPath, 'secret', 'create', 'api-key'], { input: v2 });
  t.equal(rot.code, 0, rot.stderr);
  t.match(rot.stdout, /Replaced secret api-key \(27 bytes\); reader, svc read it from its next start/);
  t.equal((await call(sb)).body, `${v2}|${v2}`, 'the next call after a rotation sees the new value');
  t.equal(await svcCall(), `${v2}|${v2}`, "the service's warm app was restarted: the next call sees the new value");
  // And a cold start: the runner gone idle, a new value, the next call starts one.
  await waitFor('the runner to exit idle', async () => (await unitState(sb, 'faass-fn-reader.service')).startsWith('inactive'), 30000);
  const cold = await sb.run(process.execPath, [sb.faassctlPath, 'secret', 'create', 'api-key'], { input: v3 });
  t.equal(cold.code, 0, cold.stderr);
  t.equal((await call(sb)).body, `${v3}|${v3}`, 'the next cold call sees the new value');

  // Through the management API, as an admin.
  const admin = await sb.faassctl('credentials', 'add', 'root', '--admin');
  t.equal(admin.code, 0, admin.stderr);
  const auth = { authorization: `Bearer ${admin.stdout.trim()}`, 'content-type': 'application/json' };
  const api = (method: string, p: string, body?: unknown) => request(sb.port, p, { method, headers: auth, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  t.equal((await api('POST', '/system/secrets', { name: 'db', value: 'x1' })).status, 201, 'POST creates');
  t.equal((await api('POST', '/system/secrets', { name: 'db', value: 'x2' })).status, 409, 'POST of an existing name: 409');
  t.equal((await api('PUT', '/system/secrets', { name: 'db', value: 'x3' })).status, 200, 'PUT replaces');
  t.equal((await api('PUT', '/system/secrets', { name: 'nodb', value: 'x3' })).status, 404, 'PUT of a missing name: 404');
  const inUse = await api('DELETE', '/system/secrets', { name: 'api-key' });
  t.equal(inUse.status, 409, `DELETE of a secret in use: 409 ${inUse.body}`);
  t.equal((await api('DELETE', '/system/secrets', { name: 'db' })).status, 200, 'DELETE removes');
  const remote = (args: string[], input?: string) => sb.run('env', [`FAASS_GATEWAY=http://127.0.0.1:${sb.port}`, `FAASS_TOKEN=${admin.stdout.trim()}`, process.execPath, sb.faassctlPath, ...args], { input });
  const rc = await remote(['secret', 'create', 'remote-one'], 'r1');
  t.equal(rc.code, 0, `secret create --gateway ${rc.stderr}`);
  t.match((await remote(['secret', 'ls'])).stdout, /^api-key\s+27\s.*\sreader,svc$/m, 'secret ls --gateway: size and users');
  t.equal((await request(sb.port, '/system/secrets', { method: 'GET' })).status, 401, 'no credential: no list');

  // The value in no answer: the API's views and faassctl's.
  const answers = [
    (await api('GET', '/system/functions')).body,
    (await api('GET', '/system/function/reader')).body,
    (await api('GET', '/system/function/reader/versions')).body,
    (await api('GET', '/system/secrets')).body,
    (await sb.faassctl('describe', 'reader')).stdout,
    (await sb.faassctl('secret', 'ls')).stdout,
    (await sb.faassctl('versions', 'reader')).stdout,
    (await sb.systemctl('cat', 'faass-fn-reader.service')).stdout,
    (await sb.systemctl('show', 'faass-fn-reader.service')).stdout,
    (await sb.systemctl('cat', 'faass-fn-svc-app.service')).stdout,
    (await sb.systemctl('show', 'faass-fn-svc-app.service')).stdout,
    (await sb.faassctl('describe', 'svc')).stdout,
  ].join('\n');
  t.match(answers, /"secrets":\["api-key"\]/, 'the API shows the name');
  t.match(answers, /^LoadCredential=api-key:\S+\/faass\/secrets\/api-key$/m, 'the unit names the store file');
  t.match((await sb.systemctl('cat', 'faass-fn-svc-app.service')).stdout, /^LoadCredential=api-key:\S+\/faass\/secrets\/api-key$/m, "the service's app unit names it too");
  for (const v of [v1, v2, v3]) t.notOk(answers.includes(v), 'no value in any answer');

  // The value in no file of faass's but the store: settings, version records, state, units.
  const store = path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'secrets', 'api-key');
  t.equal(fs.statSync(store).mode & 0o777, 0o600, 'the store file is 0600');
  t.equal(fs.statSync(path.dirname(store)).mode & 0o777, 0o700, 'in a 0700 directory');
  for (const dir of [sb.env.XDG_CONFIG_HOME, sb.env.XDG_DATA_HOME, sb.env.XDG_STATE_HOME] as string[]) {
    for (const [f, bytes] of filesUnder(dir)) if (f !== store) t.notOk([v1, v2, v3].some((v) => bytes.includes(v)), `no value in ${path.relative(sb.dir, f)}`);
  }
  const journal = await sandboxJournal(sb);
  t.ok(journal.includes('function=reader status=200'), "the journal holds the function's calls");
  t.notOk([v1, v2, v3].some((v) => journal.includes(v)), "no value in any journal line of the sandbox's");
});

// Without a user manager, faassctl serve hands a function its secrets the same way
// ($CREDENTIALS_DIRECTORY, serve/credentials.ts) and restarts its runner on a new value.
t.test('under faassctl serve', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-secrets-serve-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const runtime = path.join(dir, 'runtime');
  fs.mkdirSync(runtime, { mode: 0o700 });
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_RUNTIME_DIR: runtime };
  const ctl = (args: string[], input?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [FAASSCTL, ...args], { env }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
      child.stdin?.end(input ?? '');
    });
  const port = await freePort();
  t.equal((await ctl(['init', '--port', String(port)])).code, 0);
  t.equal((await ctl(['secret', 'create', 'k'], 'serve-v1')).code, 0);
  const script = path.join(dir, 'reader.sh');
  fs.writeFileSync(script, '#!/bin/sh\ncat "$CREDENTIALS_DIRECTORY/k"\n', { mode: 0o755 });
  const dep = await ctl(['deploy', 'reader', '--runtime', 'exec', '--from-file', script, '--secret', 'k']);
  t.equal(dep.code, 0, dep.stderr);
  const serve = spawn(process.execPath, [FAASSCTL, 'serve'], { env, stdio: 'ignore' });
  const exited = new Promise((resolve) => serve.on('exit', resolve));
  t.teardown(async () => {
    serve.kill('SIGTERM'); // by its own handle: the serve this test started
    await exited;
  });
  await waitFor('serve to answer', async () => (await request(port, '/healthz', { method: 'GET' }).catch(() => ({ status: 0 }))).status === 200, 30000);
  t.equal((await request(port, '/function/reader', { body: '' })).body, 'serve-v1', 'the function reads its secret from $CREDENTIALS_DIRECTORY');
  // A service too (its own network serve cannot give: --network host), read at its app's start.
  fs.mkdirSync(path.join(dir, 'svc'));
  fs.writeFileSync(path.join(dir, 'svc', 'app.py'), APP.replace(/'api-key'/g, "'k'"));
  const svc = await ctl(['deploy', 'svc', '--kind', 'service', '--port', String(await freePort()), '--network', 'host', '--command', 'python3 app.py', '--from-file', path.join(dir, 'svc'), '--secret', 'k', '--idle', '120']);
  t.equal(svc.code, 0, svc.stderr);
  const svcBody = async () => {
    await waitFor('serve to take up the service', async () => (await request(port, '/function/svc/', { method: 'GET' })).status === 200, 30000);
    return (await request(port, '/function/svc/', { method: 'GET' })).body;
  };
  t.equal(await svcBody(), 'serve-v1|-', "a service's app reads its secret from $CREDENTIALS_DIRECTORY (no /var/openfaas/secrets under serve)");
  const rot = await ctl(['secret', 'create', 'k'], 'serve-v2');
  t.equal(rot.code, 0, rot.stderr);
  t.equal((await request(port, '/function/reader', { body: '' })).body, 'serve-v2', 'a new value: the runner restarted by the time secret create returned');
  t.equal((await request(port, '/function/svc/', { method: 'GET' })).body, 'serve-v2|-', "and the service's app, running, restarted with it");
});

// A container function: its runner binds each of its credentials read-only into the call's
// container at /var/openfaas/secrets/NAME, also named by $CREDENTIALS_DIRECTORY there. As root,
// as docker.test.ts (an ordinary user's 0400 copies are not readable by a container's root
// without capabilities: DESIGN.md).
t.test('a container function', async (t) => {
  const engine = await startEngine(t);
  const sb = await startSandbox(t);
  t.equal((await sb.faassctl('init', '--port', String(sb.port), '--idle', '1', '--docker-host', `unix://${engine.socket}`)).code, 0);
  await setupGateway(sb, 1);
  t.equal((await sb.run(process.execPath, [sb.faassctlPath, 'secret', 'create', 'k'], { input: 'boxed-v1' })).code, 0);
  const dep = await sb.faassctl('deploy', 'dread', '--image', BUSYBOX, '--command', 'printf "%s|%s" "$(cat $CREDENTIALS_DIRECTORY/k)" "$(cat /var/openfaas/secrets/k)"', '--secret', 'k', '--idle', '1');
  t.equal(dep.code, 0, dep.stderr);
  const r = await request(sb.port, '/function/dread', { body: '' });
  t.equal(r.status, 200, r.body);
  t.equal(r.body, 'boxed-v1|boxed-v1', 'the container reads it at both');
  t.equal(await engine.countContainers('dread'), 0, 'and its container is gone');
  // A container service: its app's container has it bound read-only, named by $CREDENTIALS_DIRECTORY.
  const svc = await sb.faassctl('deploy', 'dsvc', '--kind', 'service', '--port', String(await freePort()), '--runtime', 'docker', '--image', BUSYBOX, '--command', 'sh -c "exec busybox httpd -f -p 127.0.0.1:$PORT -h $CREDENTIALS_DIRECTORY"', '--secret', 'k', '--idle', '1');
  t.equal(svc.code, 0, svc.stderr);
  const got = await request(sb.port, '/function/dsvc/k', { method: 'GET' });
  t.equal(got.status, 200, got.body);
  t.equal(got.body, 'boxed-v1', "the service's container serves it from $CREDENTIALS_DIRECTORY");
  t.equal((await sb.faassctl('delete', 'dsvc')).code, 0);
});

// A user's first session: install.sh, deploy functions of each runtime, call them through the
// gateway, watch the whole stack scale to zero and come back.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import * as os from 'node:os';
import { spawnSync, execFileSync } from 'node:child_process';
import { startSandbox, install, request, faassPids, waitFor, unitState, writeFixture, freePort, ROOT } from '../support/sandbox';

t.test('install, deploy, call, scale to zero', async (t) => {
  const sb = await startSandbox(t);
  const inst = await install(sb, 1);
  t.equal(inst.code, 0, `install.sh exits 0: ${inst.stderr}`);
  // The tree npm test built is the one every other test runs: install.sh must take it as built,
  // not build it again in place under them (it did in a fresh clone: npm run build left no mark).
  t.notMatch(inst.stdout, /^install\.sh: (building|installing dependencies)/m, 'install.sh takes the built tree as it is');
  t.ok(fs.existsSync(path.join(sb.dir, 'prefix/bin/faassctl')), 'faassctl is on PREFIX/bin');
  t.ok(fs.existsSync(path.join(sb.dir, 'prefix/share/man/man1/faassctl.1')), 'man page installed');
  t.match(await unitState(sb, 'faass-gateway.socket'), /^active\/(listening|running)$/, 'gateway socket active');
  t.match(inst.stdout, /the gateway at 127\.0\.0\.1:\d+ answers \(faassctl invoke hello -d you: Hello, you!\)/, 'install.sh called hello through the gateway');

  const hello = await request(sb.port, '/function/hello', { body: 'tester' });
  t.equal(hello.status, 200, 'example function answers');
  t.equal(hello.body, 'Hello, tester!\n');

  const again = await install(sb, 1);
  t.equal(again.code, 0, 'install.sh runs again');
  t.notMatch(again.stdout, /installed programs|deployed/i, 'a second run changes nothing');
  t.match(inst.stdout, /no web console \(it is opt-in\): \.\/install\.sh --console-port PORT/, 'no console unless asked for, and it says how');
  t.equal((await request(sb.port, '/ui/', { method: 'GET' })).status, 404, 'nor on the functions\' address');
  let cp = await freePort();
  while (cp === sb.port) cp = await freePort();
  const withConsole = await install(sb, 1, cp);
  t.equal(withConsole.code, 0, `install.sh --console-port: ${withConsole.stderr}`);
  t.match(withConsole.stdout, `the web console: http://127.0.0.1:${cp}/ui/ (its own address`, 'it says where the console is');
  t.match(await unitState(sb, 'faass-gateway-console.socket'), /^active\/(listening|running)$/, 'its socket listens');
  const page = await request(cp, '/ui/', { method: 'GET' });
  t.equal(page.status, 200, 'the console answers there');
  t.match(page.headers['content-type'], /^text\/html/);

  // exec: cat, and a shell function that shows its Http_* environment
  t.equal((await sb.faassctl('deploy', 'cat', '--command', 'cat', '--idle', '1')).code, 0, 'deploy cat');
  const envScript = writeFixture(sb, 'env.sh', '#!/bin/sh\necho "method=$Http_Method path=$Http_Path query=$Http_Query ua=$Http_User_Agent greeting=$GREETING"\n', 0o755);
  const dep = await sb.faassctl('deploy', 'showenv', '--runtime', 'exec', '--from-file', envScript, '--env', 'GREETING=hi there', '--idle', '1');
  t.equal(dep.code, 0, `deploy showenv: ${dep.stderr}`);
  // node: Kubeless-style module, and a Lambda-style handler returning {statusCode, headers, body}
  const kubeless = writeFixture(sb, 'kubeless/handler.js', "module.exports = { hello: (event, context) => 'kubeless ' + event.data.who + ' ' + context['function-name'] };\n");
  t.equal((await sb.faassctl('deploy', 'kube', '--runtime', 'node', '--from-file', path.dirname(kubeless), '--handler', 'handler.hello', '--idle', '1')).code, 0, 'deploy kubeless node function');
  const lambda = writeFixture(sb, 'lambda.js', "exports.handler = async (event) => ({ statusCode: 201, headers: { 'X-Answer': '42' }, body: JSON.stringify({ method: event.method, path: event.path, query: event.query, body: event.body }) });\n");
  t.equal((await sb.faassctl('deploy', 'lambda', '--runtime', 'node', '--from-file', lambda, '--idle', '1')).code, 0, 'deploy lambda-style node function');
  // python: OpenFaaS template handle(req), and handle(event, context)
  const ofaas = writeFixture(sb, 'of/handler.py', 'def handle(req):\n    return "openfaas got " + req\n');
  t.equal((await sb.faassctl('deploy', 'ofpy', '--runtime', 'python', '--from-file', ofaas, '--idle', '1')).code, 0, 'deploy openfaas python function');
  const evpy = writeFixture(sb, 'ev/main.py', 'def handle(event, context):\n    return {"statusCode": 202, "headers": {"X-Py": "yes"}, "body": {"data": event["data"], "fn": context["function-name"]}}\n');
  t.equal((await sb.faassctl('deploy', 'evpy', '--runtime', 'python', '--from-file', evpy, '--idle', '1')).code, 0, 'deploy event python function');

  const cat = await request(sb.port, '/function/cat', { body: 'meow' });
  t.equal(cat.status, 200);
  t.equal(cat.body, 'meow', 'cat echoes the body');
  t.match(cat.headers['x-call-id'], /^[0-9a-f-]{36}$/, 'X-Call-Id set');
  t.match(cat.headers['x-duration-seconds'], /^\d+\.\d+$/, 'X-Duration-Seconds set');
  t.equal(cat.headers['content-type'], 'text/plain; charset=utf-8');
  const given = await request(sb.port, '/lambda/cat', { body: 'x', headers: { 'x-call-id': 'my-call-1' } });
  t.equal(given.headers['x-call-id'], 'my-call-1', "the caller's call id is kept; /lambda/ route works");
  const viaHeader = await request(sb.port, '/anything', { body: 'by header', headers: { 'X-Function': 'cat' } });
  t.equal(viaHeader.body, 'by header', 'X-Function header routes');

  const env = await request(sb.port, '/function/showenv/some/path?a=1&b=2', { method: 'PUT', headers: { 'user-agent': 'tap-test' } });
  t.equal(env.body, 'method=PUT path=/some/path query=a=1&b=2 ua=tap-test greeting=hi there\n', 'Http_* and function env reach the function');

  const kube = await request(sb.port, '/function/kube', { body: '{"who":"world"}', headers: { 'content-type': 'application/json' } });
  t.equal(kube.status, 200);
  t.equal(kube.body, 'kubeless world kube', 'Kubeless handler runs unchanged');

  const lam = await request(sb.port, '/function/lambda/p?q=1', { body: 'payload' });
  t.equal(lam.status, 201, 'statusCode honoured');
  t.equal(lam.headers['x-answer'], '42', 'handler headers honoured');
  t.same(JSON.parse(lam.body), { method: 'POST', path: '/p', query: 'q=1', body: 'payload' });

  const of = await request(sb.port, '/function/ofpy', { body: 'data' });
  t.equal(of.body, 'openfaas got data', 'OpenFaaS python handler runs unchanged');
  const ev = await request(sb.port, '/function/evpy', { body: '{"k":[1,2]}', headers: { 'content-type': 'application/json' } });
  t.equal(ev.status, 202);
  t.equal(ev.headers['x-py'], 'yes');
  t.same(JSON.parse(ev.body), { data: { k: [1, 2] }, fn: 'evpy' });

  // The function socket also speaks plain HTTP, for curl --unix-socket.
  const direct = await new Promise<string>((resolve, reject) => {
    const req = http.request({ socketPath: path.join(sb.env.XDG_RUNTIME_DIR as string, 'faass/fn/cat.sock'), path: '/', method: 'POST' }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(b));
    });
    req.on('error', reject);
    req.end('straight to the socket');
  });
  t.equal(direct, 'straight to the socket', "HTTP on the function's own socket");

  const inv = await sb.faassctl('invoke', 'cat', '-d', 'via faassctl');
  t.equal(inv.stdout, 'via faassctl', 'faassctl invoke prints the body');

  // Scale to zero: every faass service inactive, sockets listening, no process left.
  await waitFor('no faass process', () => faassPids(sb).length === 0, 30000);
  for (const u of ['faass-gateway', 'faass-fn-cat', 'faass-fn-kube', 'faass-fn-ofpy']) {
    t.equal(await unitState(sb, `${u}.service`), 'inactive/dead', `${u}.service stopped when idle`);
    t.equal(await unitState(sb, `${u}.socket`), 'active/listening', `${u}.socket still listening`);
  }
  const status = await sb.faassctl('status');
  t.match(status.stdout, /Running faass processes: 0/, 'status shows no running process');
  const piped = await sb.run('sh', ['-c', `"${process.execPath}" "${sb.faassctlPath}" status | head -n 1`]);
  t.equal(piped.stderr, '', 'faassctl status | head: no EPIPE crash');

  const cold = await request(sb.port, '/function/kube', { body: '{"who":"cold"}', headers: { 'content-type': 'application/json' } });
  t.equal(cold.body, 'kubeless cold kube', 'a cold call starts gateway and runner and is answered');
  t.equal(await unitState(sb, 'faass-gateway.service'), 'active/running', 'gateway started again');
  t.equal(await unitState(sb, 'faass-fn-kube.service'), 'active/running', 'runner started again');

  // A gateway that cannot start: install.sh's own call through it fails, and so does install.sh.
  const dropIn = path.join(sb.env.XDG_CONFIG_HOME as string, 'systemd/user/faass-gateway.service.d');
  fs.mkdirSync(dropIn, { recursive: true });
  fs.writeFileSync(path.join(dropIn, 'broken.conf'), '[Service]\nExecStart=\nExecStart=/bin/false\n');
  await sb.systemctl('daemon-reload');
  const broken = await install(sb, 1);
  t.equal(broken.code, 1, 'install.sh exits 1 when the gateway does not answer');
  t.match(broken.stderr, /installed, but the gateway at 127\.0\.0\.1:\d+ does not answer/, `it says so: ${broken.stderr}`);
  t.notMatch(broken.stdout, /done|curl/, 'and claims no answer');
  fs.rmSync(dropIn, { recursive: true });

  const un = await sb.run('bash', [path.join(ROOT, 'install.sh'), '--prefix', path.join(sb.dir, 'prefix'), '--uninstall']);
  t.equal(un.code, 0, 'uninstall exits 0');
  t.notOk(fs.existsSync(path.join(sb.dir, 'prefix/bin/faassctl')), 'bins removed');
  t.notOk(fs.existsSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'systemd/user/faass-gateway.socket')), 'gateway units removed');
  t.ok(fs.existsSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'faass/functions/cat.conf')), 'functions kept without --purge');
});

// install.sh as on a fresh machine without systemd: HOME empty, no npm cache, npm offline (so
// nothing can be downloaded), no user manager. The source comes with node_modules (as from a
// release or an earlier npm ci) but without the native addons built.
t.test('offline, empty HOME, no user manager: builds the addons from local headers, starts nothing, uninstall leaves nothing', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-offline-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const src = copySource(tmp, 'src', true);
  const home = path.join(tmp, 'home');
  const runtime = path.join(tmp, 'run');
  fs.mkdirSync(home);
  fs.mkdirSync(runtime, { mode: 0o700 });
  // Nothing of the caller's npm settings (npm test passes its config down as npm_config_*).
  const env = { PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`, HOME: home, XDG_RUNTIME_DIR: runtime, npm_config_offline: 'true', TMPDIR: tmp };
  const port = String(await freePort());
  const installSh = (args: string[], wrap: string[] = []) => {
    const r = spawnSync(wrap[0] ?? 'bash', [...wrap.slice(1), ...(wrap.length ? ['bash'] : []), path.join(src, 'install.sh'), ...args], { env, encoding: 'utf8', timeout: 300000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  // Where the running node's headers are, hidden in a mount namespace of its own: one line, no download.
  const headers = path.resolve(process.execPath, '../../include/node');
  if (fs.existsSync(headers)) {
    const hidden = installSh(['--port', port], ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs tmpfs ${headers} && exec "$@"`, 'sh']);
    t.equal(hidden.code, 1, 'without the headers install.sh fails');
    t.equal(hidden.stderr.trim().split('\n').length, 1, `one line: ${hidden.stderr}`);
    t.match(hidden.stderr, `headers not found in ${headers}`, 'it says which headers are missing, and where');
    t.notMatch(hidden.stderr, /python3|g\+\+|libsystemd-dev/, 'and blames no build tool');
  }

  const inst = installSh(['--port', port]);
  t.equal(inst.code, 0, `install.sh exits 0: ${inst.stderr}`);
  t.match(inst.stdout, /building sd-notify unix-dgram/, 'the native addons are built');
  t.ok(fs.existsSync(path.join(src, 'node_modules/sd-notify/build/Release/notify.node')), 'sd-notify built');
  t.notOk(fs.existsSync(path.join(home, '.cache/node-gyp')), 'node-gyp downloaded no headers');
  t.match(inst.stdout, /nothing was started/, 'it says it started nothing');
  t.match(inst.stdout, /faassctl serve/, 'and how to run faass');
  t.notMatch(inst.stdout, /curl|done/, 'it claims no answer');
  if (!fs.existsSync('/run/systemd/system')) t.notMatch(inst.stdout, /enable-linger/, 'no lingering advice where systemd does not run the machine');
  t.equal((inst.stdout + inst.stderr).match(/no systemd user manager is reachable/g)?.length, 1, 'the missing manager is said once');
  const prefix = path.join(home, '.local');
  t.ok(fs.existsSync(path.join(prefix, 'share/bash-completion/completions/faassctl')), 'bash completion installed');
  const complete = spawnSync(path.join(prefix, 'bin/faassctl'), ['--get-yargs-completions', 'faassctl', 'deploy', '--ti'], { env, encoding: 'utf8' });
  t.match(complete.stdout, /^--timeout$/m, 'the installed faassctl completes an option');

  // What a faassctl serve killed on the spot leaves: a socket nothing listens on.
  fs.mkdirSync(path.join(runtime, 'faass/fn'), { recursive: true });
  spawnSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(path.join(runtime, 'faass/fn/hello.sock'))})`]);
  const un = installSh(['--uninstall', '--purge']);
  t.equal(un.code, 0, `uninstall exits 0: ${un.stderr}`);
  t.equal((un.stdout + un.stderr).match(/no systemd user manager is reachable/g)?.length, 1, 'uninstall says it once');
  const left = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => [path.join(dir, e.name), ...(e.isDirectory() ? left(path.join(dir, e.name)) : [])]);
  t.same(left(home).filter((f) => !f.startsWith(path.join(home, '.npm'))), [], "nothing left in HOME but npm's own cache and logs");
  t.same(left(runtime), [], 'nothing left in XDG_RUNTIME_DIR');

  // Without node_modules and with nothing cached, npm ci cannot work offline: one line saying so.
  const bare = copySource(tmp, 'bare', false);
  const ci = spawnSync('bash', [path.join(bare, 'install.sh'), '--port', port], { env, encoding: 'utf8', timeout: 300000 });
  t.equal(ci.status, 1, 'offline with no node_modules and no cache fails');
  t.equal(ci.stderr.trim().split('\n').length, 1, `one line: ${ci.stderr}`);
  t.match(ci.stderr, /npm is offline and its cache .* does not hold them/, 'it says npm is offline and has no cache');
});

// The repository's files in tmp/NAME, as a release would carry them, with node_modules
// hardlinked (withModules) but the native addons unbuilt; what npm or node-gyp writes there is
// a file of the copy's own.
function copySource(tmp: string, name: string, withModules: boolean): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const e of fs.readdirSync(ROOT)) {
    if (['node_modules', '.git', 'dist-test', '.tap', 'coverage'].includes(e)) continue;
    fs.cpSync(path.join(ROOT, e), path.join(dir, e), { recursive: true, preserveTimestamps: true });
  }
  fs.writeFileSync(path.join(dir, 'dist/.built'), process.version + '\n'); // built, by this Node (post-build.js)
  if (!withModules) return dir;
  execFileSync('cp', ['-al', path.join(ROOT, 'node_modules'), dir]);
  const lock = path.join(dir, 'node_modules/.package-lock.json');
  fs.rmSync(lock);
  fs.copyFileSync(path.join(ROOT, 'node_modules/.package-lock.json'), lock);
  for (const addon of ['sd-notify', 'unix-dgram']) fs.rmSync(path.join(dir, 'node_modules', addon, 'build'), { recursive: true, force: true });
  return dir;
}

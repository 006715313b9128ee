// A user's first session: install.sh, deploy functions of each runtime, call them through the
// gateway, watch the whole stack scale to zero and come back.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import { startSandbox, install, request, faassPids, waitFor, unitState, writeFixture, ROOT } from '../support/sandbox';

t.test('install, deploy, call, scale to zero', async (t) => {
  const sb = await startSandbox(t);
  const inst = await install(sb, 1);
  t.equal(inst.code, 0, `install.sh exits 0: ${inst.stderr}`);
  t.ok(fs.existsSync(path.join(sb.dir, 'prefix/bin/faassctl')), 'faassctl is on PREFIX/bin');
  t.ok(fs.existsSync(path.join(sb.dir, 'prefix/share/man/man1/faassctl.1')), 'man page installed');
  t.equal(await unitState(sb, 'faass-gateway.socket'), 'active/listening', 'gateway socket listening');

  const hello = await request(sb.port, '/function/hello', { body: 'tester' });
  t.equal(hello.status, 200, 'example function answers');
  t.equal(hello.body, 'Hello, tester!\n');

  const again = await install(sb, 1);
  t.equal(again.code, 0, 'install.sh runs again');
  t.notMatch(again.stdout, /installed programs|deployed/i, 'a second run changes nothing');

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

  const un = await sb.run('bash', [path.join(ROOT, 'install.sh'), '--prefix', path.join(sb.dir, 'prefix'), '--uninstall']);
  t.equal(un.code, 0, 'uninstall exits 0');
  t.notOk(fs.existsSync(path.join(sb.dir, 'prefix/bin/faassctl')), 'bins removed');
  t.notOk(fs.existsSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'systemd/user/faass-gateway.socket')), 'gateway units removed');
  t.ok(fs.existsSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'faass/functions/cat.conf')), 'functions kept without --purge');
});

// kind=service: a long-running HTTP app behind systemd-socket-proxyd, started by the first
// request, stopped with the proxy when idle; as a process and as a container.
import t from 'tap';
import { startSandbox, setupGateway, request, load, waitFor, unitState, writeFixture, freePort, errorCode } from '../support/sandbox';
import { sandboxJournal } from '../support/journal';
import { startEngine, BUSYBOX } from '../support/docker';
import * as path from 'node:path';
import * as net from 'node:net';
import { once } from 'node:events';

t.test('services', async (t) => {
  const engine = await startEngine(t);
  const sb = await startSandbox(t);
  t.equal((await sb.faassctl('init', '--port', String(sb.port), '--idle', '1', '--docker-host', `unix://${engine.socket}`)).code, 0);
  await setupGateway(sb, 1);

  t.test('a process app: cold start, idle stop, load', async (t) => {
    const site = writeFixture(sb, 'site/index.html', 'hello from httpd\n');
    const port = await freePort();
    const dep = await sb.faassctl('deploy', 'web', '--kind', 'service', '--port', String(port), '--command', 'busybox httpd -f -p 127.0.0.1:$PORT -h .', '--from-file', path.dirname(site), '--idle', '1');
    t.equal(dep.code, 0, `deploy a service ${dep.stderr}`);
    t.equal(await unitState(sb, 'faass-fn-web-app.service'), 'inactive/dead', 'nothing runs before the first request');
    const r = await request(sb.port, '/function/web/index.html', { method: 'GET' });
    t.equal(r.status, 200, 'the first request starts proxy and app and is answered');
    t.equal(r.body, 'hello from httpd\n');
    t.equal(await unitState(sb, 'faass-fn-web-app.service'), 'active/running');
    const states = async () => [await unitState(sb, 'faass-fn-web.service'), await unitState(sb, 'faass-fn-web-app.service')];
    await waitFor('proxy and app to stop when idle', async () => (await states()).every((s) => s === 'inactive/dead'), 30000).catch(() => undefined);
    t.same(await states(), ['inactive/dead', 'inactive/dead'], 'after idle, proxy and app are stopped');
    t.equal(await unitState(sb, 'faass-fn-web.socket'), 'active/listening', 'the socket still listens');
    const again = await request(sb.port, '/function/web/index.html', { method: 'GET' });
    t.equal(again.body, 'hello from httpd\n', 'the next request starts them again');
    const l = await load(sb.port, '/function/web/index.html', 1000, 50, (res) => res.status === 200 && res.body === 'hello from httpd\n', 'GET');
    t.equal(l.failures.length, 0, `load through the gateway: 0 failures ${JSON.stringify(l.failures.slice(0, 3))}`);
  });

  // Issue 11 item 24: a service container's writes neither persist across idle stops (a fresh
  // container at every start) nor grow without bound (a read-only root, /tmp of 64M).
  t.test('a container app: a fresh container at every start, its writes bounded', async (t) => {
    const port = await freePort();
    const dep = await sb.faassctl('deploy', 'box', '--kind', 'service', '--port', String(port), '--runtime', 'docker', '--image', BUSYBOX, '--command', 'sh -c "echo boxed > /tmp/index.html && exec busybox httpd -f -p 127.0.0.1:$PORT -h /"', '--idle', '1');
    t.equal(dep.code, 0, `deploy a container service ${dep.stderr}`);
    // The app's container (not its forwarder's), found by faass's labels.
    const appContainer = async () => {
      const c = (await engine.docker.listContainers({ filters: { label: ['faass.function=box'] } })).find((c) => !c.Labels['faass.role']);
      return engine.docker.getContainer(c?.Id ?? 'none');
    };
    // A command in the app's container; its exit status.
    const execIn = async (cmd: string): Promise<number> => {
      const ex = await (await appContainer()).exec({ Cmd: ['sh', '-c', cmd], AttachStdout: true, AttachStderr: true });
      const out = await ex.start({ hijack: true, stdin: false });
      await new Promise((r) => (out.on('end', r), out.on('close', r), out.resume()));
      let code: number | null = null;
      await waitFor('the command to end', async () => (code = (await ex.inspect()).ExitCode) !== null);
      return code ?? -1;
    };
    // Keeps the app from idling out while the test looks into its container: a connection of the
    // test's own through the service's socket (the proxy exits only with none open).
    const hold = async (): Promise<() => void> => {
      const c = net.connect(path.join(sb.env.XDG_RUNTIME_DIR as string, 'faass', 'fn', 'box.sock'));
      c.on('error', () => undefined);
      await once(c, 'connect');
      return () => c.destroy();
    };
    const r = await request(sb.port, '/function/box/tmp/index.html', { method: 'GET' });
    let release = await hold();
    t.teardown(() => release());
    t.equal(r.status, 200);
    t.equal(r.body, 'boxed\n');
    const first = await (await appContainer()).inspect();
    t.ok(first.State.Running, 'the container runs');
    const st = await sb.faassctl('status');
    t.match(st.stdout, /Containers \(.*\): 2\n(\s+box\s+faass-(svc|fwd)-[0-9a-f]{16}-box\s+running\b.*\n){2}/, 'status shows the containers of the service (its app and forwarder) while it runs');
    await execIn('echo kept > /tmp/marker; echo kept > /marker');
    t.equal((await request(sb.port, '/function/box/tmp/marker', { method: 'GET' })).body, 'kept\n', 'the app sees what was written in /tmp while it runs');
    release();

    await waitFor('the app to stop when idle', async () => (await unitState(sb, 'faass-fn-box-app.service')) === 'inactive/dead', 30000).catch(() => undefined);
    t.equal(await unitState(sb, 'faass-fn-box-app.service'), 'inactive/dead', 'the app unit stops when idle');
    t.equal(await engine.countContainers('box'), 0, 'its container is removed with it, and what it wrote');
    t.equal((await request(sb.port, '/function/box/tmp/index.html', { method: 'GET' })).body, 'boxed\n', 'the next request is answered');
    release = await hold();
    const again = await (await appContainer()).inspect();
    t.not(again.Id, first.Id, 'by a fresh container');
    t.equal((await request(sb.port, '/function/box/tmp/marker', { method: 'GET' })).status, 404, 'which does not see what was written in /tmp before');
    t.equal((await request(sb.port, '/function/box/marker', { method: 'GET' })).status, 404, 'nor on its root');

    t.not(await execIn('echo x > /grow'), 0, 'the root filesystem is read-only');
    t.not(await execIn('dd if=/dev/zero of=/tmp/fill bs=1M count=80'), 0, 'a write past the 64M of /tmp fails');
    t.equal((await request(sb.port, '/function/box/tmp/index.html', { method: 'GET' })).body, 'boxed\n', 'and the service stays up');
    t.equal((await (await appContainer()).inspect()).Id, again.Id, 'in the same container');
    release();
    t.equal((await sb.faassctl('delete', 'box')).code, 0, 'delete the service');
    t.equal(await engine.countContainers('box'), 0, 'its container is removed with it');
  });

  t.test('a Node app: bodies both ways, large and streamed answers, a crash mid-life', async (t) => {
    const app = writeFixture(
      sb,
      'napp/app.js',
      `const http = require('node:http');
http.createServer((req, res) => {
  if (req.url === '/crash') process.exit(3);
  if (req.url === '/big') { const b = Buffer.alloc(300 * 1024, 'b'); res.writeHead(200, { 'content-length': b.length }); return res.end(b); }
  if (req.url === '/stream') { res.writeHead(200, { 'content-type': 'text/plain' }); let i = 0; const t = setInterval(() => { res.write('chunk ' + i + '\\n'); if (++i === 50) { clearInterval(t); res.end(); } }, 2); return; }
  const chunks = []; req.on('data', (d) => chunks.push(d)); req.on('end', () => {
    res.writeHead(201, { 'content-type': 'application/x-echo', 'x-seen-method': req.method, 'x-seen-test': String(req.headers['x-test']), 'x-seen-pid': String(process.pid) });
    res.end(Buffer.concat(chunks));
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
`,
    );
    const port = await freePort();
    const dep = await sb.faassctl('deploy', 'napp', '--kind', 'service', '--port', String(port), '--command', `${process.execPath} app.js`, '--from-file', path.dirname(app), '--idle', '5');
    t.equal(dep.code, 0, `deploy ${dep.stderr}`);
    const echo = await request(sb.port, '/function/napp/echo', { method: 'PUT', body: 'payload \u00e9', headers: { 'x-test': 'yes', 'content-type': 'text/plain' } });
    t.equal(echo.status, 201, 'the status of the app comes through');
    t.equal(echo.body, 'payload \u00e9', 'the body goes in and comes back');
    t.equal(echo.headers['x-seen-method'], 'PUT');
    t.equal(echo.headers['x-seen-test'], 'yes', 'request headers reach the app');
    t.equal(echo.headers['content-type'], 'application/x-echo', 'response headers reach the client');
    const big = await request(sb.port, '/function/napp/big', { method: 'GET' });
    t.equal(big.body.length, 300 * 1024, 'a 300 KiB answer arrives whole');
    t.equal(big.headers['content-length'], String(300 * 1024));
    const streamed = await request(sb.port, '/function/napp/stream', { method: 'GET' });
    t.equal(streamed.body.split('\n').filter(Boolean).length, 50, 'a streamed answer arrives whole');
    t.equal(streamed.body.split('\n')[49], 'chunk 49');
    const pid = echo.headers['x-seen-pid'];

    const crash = await request(sb.port, '/function/napp/crash', { method: 'GET' });
    t.equal(crash.status, 502, 'a request that crashes the app fails with 502');
    t.equal(errorCode(crash.body), 'FAASS_E_FUNCTION_UNREACHABLE');
    // Traffic goes on: the proxy must not outlive its app (it would never idle out, and every
    // request would fail on a dead port); the next requests start both again. A request every
    // 100 ms keeps a proxy that outlived its app from ever idling out (5 s), so a success within
    // the deadline proves it did not: no clock bound is needed.
    let after = await request(sb.port, '/function/napp/echo', { method: 'POST', body: 'again' });
    await waitFor('a request to start the app again', async () => (after = await request(sb.port, '/function/napp/echo', { method: 'POST', body: 'again' })).status === 201, 30000).catch(() => undefined);
    t.equal(after.status, 201, 'requests that keep coming start the app again');
    t.equal(after.body, 'again');
    t.not(after.headers['x-seen-pid'], pid, 'in a new process');
    t.match(await sandboxJournal(sb, '--user-unit=faass-fn-napp-app.service', '-p', 'err'), /the app exited with status 3/, 'the journal says the app crashed');
    const l = await load(sb.port, '/function/napp/echo', 500, 50, (res) => res.status === 201 && res.body.startsWith('req-'));
    t.equal(l.failures.length, 0, `load after the crash: 0 failures ${JSON.stringify(l.failures.slice(0, 3))}`);
  });

  // Issue 11 item 24: an app that ends its lines with a bare LF is answered (the gateway's own
  // parser stays strict for requests); what leniency must not pass on is refused with a 502.
  t.test('an app answering with bare LF line endings; answers that cannot be passed on', async (t) => {
    const app = writeFixture(
      sb,
      'rawapp/app.js',
      `const net = require('node:net');
const answers = {
  '/lf': 'HTTP/1.1 200 OK\\nContent-Type: text/plain\\nContent-Length: 8\\n\\nbare LF\\n',
  '/lf10': 'HTTP/1.0 200 OK\\nContent-Type: text/plain\\n\\nuntil close\\n',
  '/ctl': 'HTTP/1.1 200 OK\\r\\nX-Bad: a\\x01b\\r\\nContent-Length: 2\\r\\n\\r\\nno',
  '/clte': 'HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n2\\r\\nno\\r\\n0\\r\\n\\r\\n',
};
net.createServer((s) => {
  let got = '';
  s.on('data', (d) => {
    got += d;
    let end;
    while ((end = got.indexOf('\\r\\n\\r\\n')) >= 0) { // the gateway sends bodiless GETs
      const path = got.split(' ')[1];
      got = got.slice(end + 4);
      s.write(answers[path] ?? 'HTTP/1.1 404 Not Found\\nContent-Length: 0\\n\\n');
      if (path === '/lf10') s.end();
    }
  });
  s.on('error', () => undefined);
}).listen(Number(process.env.PORT), '127.0.0.1');
`,
    );
    const dep = await sb.faassctl('deploy', 'rawapp', '--kind', 'service', '--port', String(await freePort()), '--command', `${process.execPath} app.js`, '--from-file', path.dirname(app), '--idle', '5');
    t.equal(dep.code, 0, `deploy ${dep.stderr}`);
    const lf = await request(sb.port, '/function/rawapp/lf', { method: 'GET' });
    t.equal(lf.status, 200, `an answer with bare LF line endings is passed on ${lf.body}`);
    t.equal(lf.body, 'bare LF\n');
    t.equal(lf.headers['content-type'], 'text/plain', 'with its headers');
    const lf10 = await request(sb.port, '/function/rawapp/lf10', { method: 'GET' });
    t.equal(lf10.status, 200, 'an HTTP/1.0 answer ended by closing, with bare LF');
    t.equal(lf10.body, 'until close\n');
    const ctl = await request(sb.port, '/function/rawapp/ctl', { method: 'GET' });
    t.equal(ctl.status, 502, 'a header with a control character is not passed on');
    t.equal(errorCode(ctl.body), 'FAASS_E_ANSWER_MALFORMED');
    t.match(ctl.body, /control characters in the value of header x-bad/, 'naming the header, not its value');
    const clte = await request(sb.port, '/function/rawapp/clte', { method: 'GET' });
    t.equal(clte.status, 502, 'an answer with both Content-Length and Transfer-Encoding is not passed on');
    t.equal(errorCode(clte.body), 'FAASS_E_ANSWER_MALFORMED');
    t.equal((await request(sb.port, '/function/rawapp/lf', { method: 'GET' })).body, 'bare LF\n', 'and the next answer is passed on');
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(sb.port, '127.0.0.1', () => s.write('GET /function/rawapp/lf HTTP/1.1\nHost: 127.0.0.1\n\n'));
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString('latin1')));
      s.on('close', () => resolve(got));
      s.on('error', () => undefined);
    });
    t.match(refused, /^HTTP\/1\.1 400 /, 'a request with bare LF line endings is still refused');
    t.equal((await sb.faassctl('delete', 'rawapp')).code, 0);
  });

  t.test('an app that never opens its port, one that exits at start, one without a port', async (t) => {
    const port = await freePort();
    t.equal((await sb.faassctl('deploy', 'mute', '--kind', 'service', '--port', String(port), '--command', 'sleep 600', '--ready-timeout', '2', '--idle', '1')).code, 0);
    const started = Date.now();
    const r = await request(sb.port, '/function/mute', { method: 'GET' });
    const took = Date.now() - started;
    t.equal(r.status, 503, 'the request fails');
    t.equal(errorCode(r.body), 'FAASS_E_SERVICE_NOT_READY');
    t.match(r.body, /ready_timeout=2s/, 'saying why');
    // Timing is the behaviour: the app's 2 s readiness timeout ends the request, not the
    // gateway's 60 s; 30 s of margin for a busy machine.
    t.ok(took >= 1900 && took < 30000, `at the readiness timeout (2 s), not the gateway's (60 s): ${took} ms`);
    t.match(await sandboxJournal(sb, '--user-unit=faass-fn-mute-app.service', '-p', 'err'), /did not accept connections .* within ready_timeout=2s/, 'the journal says why');
    t.equal((await sb.faassctl('deploy', 'dies', '--kind', 'service', '--port', String(await freePort()), '--command', 'sh -c "echo bad config >&2; exit 4"', '--idle', '1')).code, 0);
    const died = await request(sb.port, '/function/dies', { method: 'GET' });
    t.equal(died.status, 503, 'an app that exits before it is ready fails the request');
    t.match(died.body, /exited with status 4 before it was ready/, 'saying how it ended');
    t.match(await sandboxJournal(sb, '--user-unit=faass-fn-dies-app.service'), /bad config/, 'its stderr is in the journal');
    t.equal((await sb.faassctl('deploy', 'noimg', '--kind', 'service', '--port', String(await freePort()), '--runtime', 'docker', '--image', 'faass-test/absent:1', '--idle', '1')).code, 0);
    const noimg = await request(sb.port, '/function/noimg', { method: 'GET' });
    t.equal(noimg.status, 503, 'a container service whose image is missing fails the request');
    t.match(noimg.body, /could not be started: .*[Nn]o such image/, 'saying the image is missing');
    t.equal((await sb.faassctl('deploy', 'bridged', '--kind', 'service', '--port', String(await freePort()), '--runtime', 'docker', '--image', BUSYBOX, '--network', 'bridge', '--command', 'busybox httpd -f -p 0.0.0.0:$PORT', '--ready-timeout', '120', '--idle', '1')).code, 0);
    const askedBridged = Date.now();
    const bridged = await request(sb.port, '/function/bridged', { method: 'GET' });
    t.equal(bridged.status, 503, 'network=bridge on an engine without a bridge fails the request');
    t.match(bridged.body, /did not publish port \d+ .*bridge network/, 'saying why');
    // Timing is the behaviour: said at once, not after the readiness timeout (120 s, so the
    // gateway's 60 s would answer 504 first); 30 s of margin for a busy machine.
    t.ok(Date.now() - askedBridged < 30000, `at once, not after the readiness timeout (${Date.now() - askedBridged} ms)`);
    t.equal((await sb.faassctl('init', '--docker-host', 'unix:///nonexistent/docker.sock')).code, 0);
    const down = await request(sb.port, '/function/box2', { method: 'GET' });
    t.equal(down.status, 404, 'setup: box2 is not deployed yet');
    t.equal((await sb.faassctl('deploy', 'box2', '--kind', 'service', '--port', String(await freePort()), '--runtime', 'docker', '--image', BUSYBOX, '--command', 'busybox httpd -f -p 127.0.0.1:$PORT', '--idle', '1')).code, 0);
    const unreachable = await request(sb.port, '/function/box2', { method: 'GET' });
    t.equal(unreachable.status, 503, 'a container service with the engine unreachable fails the request');
    t.match(unreachable.body, /cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker.sock/, 'saying so');
    t.equal((await sb.faassctl('init', '--docker-host', `unix://${engine.socket}`)).code, 0);
    const bad = await sb.faassctl('deploy', 'noport', '--kind', 'service', '--command', 'true');
    t.equal(bad.code, 2, 'a service without a port is refused');
    t.match(bad.stderr, /port is required/);
  });
});

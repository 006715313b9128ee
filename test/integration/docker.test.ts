// runtime=docker against a real Docker engine and the real systemd user manager.
import t from 'tap';
import { startSandbox, setupGateway, request, load, writeFixture, errorCode, waitFor } from '../support/sandbox';
import * as path from 'node:path';
import { startEngine, BUSYBOX } from '../support/docker';
import { journalEntries } from '../support/journal';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { ContainerApp } from '../../src/app/container-app';
import { installId } from '../../src/docker/names';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as http from 'node:http';

t.test('container functions', async (t) => {
  const engine = await startEngine(t);
  const sb = await startSandbox(t);
  t.equal((await sb.faassctl('init', '--port', String(sb.port), '--idle', '1', '--docker-host', `unix://${engine.socket}`)).code, 0);
  await setupGateway(sb, 1);
  const deploy = async (name: string, ...args: string[]) => {
    const r = await sb.faassctl('deploy', name, '--runtime', 'docker', '--image', BUSYBOX, '--idle', '1', ...args);
    t.equal(r.code, 0, `deploy ${name} ${r.stderr}`);
  };

  t.test('body in, body out; environment; framed', async (t) => {
    await deploy('dcat', '--command', 'cat');
    const r = await request(sb.port, '/function/dcat', { body: 'in a box' });
    t.equal(r.status, 200);
    t.equal(r.body, 'in a box', 'stdin to stdout through a container');
    t.match(r.headers['x-call-id'], /^[0-9a-f-]{36}$/);
    await deploy('denv', '--command', 'echo "$Http_Method $Http_Path $Http_Query $GREETING"', '--env', 'GREETING=hello');
    t.equal((await request(sb.port, '/function/denv/p?q=1', { method: 'PUT' })).body, 'PUT /p q=1 hello\n', 'Http_* and the function env inside the container');
    // Written by hand from faass.conf(5), not with the runner's encoder (the code under test):
    // [u32 BE 40]{"code":201,"headers":{"X-Boxed":"yes"}}[u32 BE 11]framed body
    const frame = `\\000\\000\\000\\050{"code":201,"headers":{"X-Boxed":"yes"}}\\000\\000\\000\\013framed body`;
    await deploy('dframed', '--command', `printf '${frame}'`, '--protocol', 'framed');
    const f = await request(sb.port, '/function/dframed');
    t.equal(f.status, 201, 'frame code');
    t.equal(f.headers['x-boxed'], 'yes', 'frame headers');
    t.equal(f.body, 'framed body');
  });

  t.test('locked down: no network, read-only root, memory limit, timeout', async (t) => {
    await deploy('dnet', '--command', 'ls /sys/class/net');
    t.equal((await request(sb.port, '/function/dnet')).body, 'lo\n', 'only loopback: no network');
    await deploy('dro', '--command', 'touch /tmp/ok && touch /etc/nope');
    const ro = await request(sb.port, '/function/dro');
    t.equal(ro.status, 500, 'the root filesystem is read-only (/tmp is writable)');
    await deploy('dmem', '--command', 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo ${#x}', '--memory-max', '32M', '--workers', '1');
    const mem = await request(sb.port, '/function/dmem');
    t.equal(mem.status, 500, 'over its memory limit');
    t.match(mem.body, /out of memory/, 'says it ran out of memory');
    await deploy('dhang', '--command', 'sleep 60', '--timeout', '1');
    const hang = await request(sb.port, '/function/dhang');
    t.equal(hang.status, 504);
    // The code, not the clock, says it was the function's 1 s timeout (sleep 60 would end at
    // the client's 60 s; the gateway's would be FAASS_E_GATEWAY_TIMEOUT).
    t.equal(errorCode(hang.body), 'FAASS_E_FUNCTION_TIMEOUT');
    // The runner removes a call's container before it answers: no wait is needed, none is allowed.
    t.equal(await engine.countContainers('dhang'), 0, 'the timed-out container is gone');
  });

  // Issue 11: a hostile container function looks for faass's sockets, credentials, the engine's
  // socket and the gateway's port, and says what it reached.
  t.test('a hostile container reaches nothing of faass', async (t) => {
    const env = sb.env as Record<string, string>;
    const probe = 'for p in "$RT/faass/api.sock" "$RT/systemd/private" "$CFG/faass/auth.conf" "$DATA/faass" "$ENGINE" /var/run/docker.sock /run/docker.sock; do [ -e "$p" ] && echo "reached $p"; done; wget -q -T 3 -O /dev/null "http://127.0.0.1:$GW/healthz" 2>/dev/null && echo "reached the gateway"; echo probed';
    await deploy('dhostile', '--command', probe, '--env', `RT=${env.XDG_RUNTIME_DIR}`, '--env', `CFG=${env.XDG_CONFIG_HOME}`, '--env', `DATA=${env.XDG_DATA_HOME}`, '--env', `ENGINE=${engine.socket}`, '--env', `GW=${sb.port}`);
    const r = await request(sb.port, '/function/dhostile');
    t.equal(r.status, 200, 'the probe runs');
    t.equal(r.body, 'probed\n', `it reached nothing: ${r.body}`);
  });

  // Fifty callers, a container each call, at most `workers` (4) containers at once: the rest wait
  // their turn (docker-bounds.test.ts counts the containers). 100 calls, two a caller, pass through
  // that queue, 46 callers waiting behind 4 containers at first; 1500 took three minutes of the
  // suite's, 200 half a minute.
  t.test('100 calls at concurrency 50: 0 failures, 0 containers left', async (t) => {
    const r = await load(sb.port, '/function/dcat', 100, 50, (res) => res.status === 200 && res.body.startsWith('req-'));
    t.equal(r.failures.length, 0, `0 failed of ${r.sent} ${JSON.stringify(r.failures.slice(0, 3))}`);
    t.equal(await engine.countContainers(), 0, 'no container outlives its call');
  });

  t.test('leftovers of a killed runner are removed at the next start', async (t) => {
    const install = installId(path.join(sb.env.XDG_CONFIG_HOME as string, 'faass')); // this sandbox's install
    const c = await engine.docker.createContainer({ Image: BUSYBOX, Cmd: ['sleep', '600'], Labels: { 'faass.function': 'dcat', 'faass.install': install } });
    await c.start();
    await sb.systemctl('stop', 'faass-fn-dcat.service');
    t.equal(await engine.countContainers('dcat'), 1, 'a stray container is there');
    t.equal((await request(sb.port, '/function/dcat', { body: 'x' })).status, 200);
    t.equal(await engine.countContainers('dcat'), 0, 'the runner removed it when it started');
  });

  t.test('images built from a build context, no registry', async (t) => {
    const ctx = writeFixture(sb, 'ctx/Dockerfile', `FROM ${BUSYBOX}\nCOPY greet.sh /greet.sh\nRUN echo v1 > /version && echo preparing the image\nCMD ["sh", "/greet.sh"]\n`);
    writeFixture(sb, 'ctx/greet.sh', 'read who; echo "hello $who from $(cat /version)"\n');
    const dir = path.dirname(ctx);
    const dep = await sb.faassctl('deploy', 'built', '--build', dir, '--idle', '1');
    t.equal(dep.code, 0, `deploy --build DIR ${dep.stderr}`);
    t.match(dep.stdout, /^Step 1\/\d : FROM .*\n(.*\n)*?Step 2\/\d : COPY/m, 'progress: one line per step (no terminal)');
    t.match(dep.stdout, /^  preparing the image$/m, "and the steps' output");
    const described = (await sb.faassctl('describe', 'built')).stdout;
    const image = /^image\s*=\s*(faass\/built:[0-9a-f]{12})$/m.exec(described)?.[1];
    t.ok(image, 'the function names the image it was built as');
    t.match(described, new RegExp(`^build\\s*=\\s*${dir}$`, 'm'), 'and the directory it builds from');
    const r = await request(sb.port, '/function/built', { body: 'world' });
    t.equal(r.body, 'hello world from v1\n', 'a call runs the built image');

    writeFixture(sb, 'ctx/Dockerfile', `FROM ${BUSYBOX}\nCOPY greet.sh /greet.sh\nRUN echo v2 > /version\nCMD ["sh", "/greet.sh"]\n`);
    const rebuilt = await sb.faassctl('build', 'built');
    t.equal(rebuilt.code, 0, `faassctl build after an edit in place ${rebuilt.stderr}`);
    t.match(rebuilt.stdout, /^Built faass\/built:[0-9a-f]{12}; built uses it from now on/m);
    t.equal((await request(sb.port, '/function/built', { body: 'again' })).body, 'hello again from v2\n', 'the next call runs the new image');
    const same = await sb.faassctl('build', 'built');
    t.equal(same.code, 0);
    t.match(same.stdout, /is unchanged/, 'building unchanged sources again keeps the image');

    writeFixture(sb, 'ctx/Dockerfile', `FROM ${BUSYBOX}\nRUN echo about to fail && exit 7\n`);
    const failed = await sb.faassctl('build', 'built');
    t.equal(failed.code, 2, 'a failing build fails');
    t.match(failed.stderr, /^faassctl: Build of built failed: .*returned a non-zero code: 7 \(FAASS_E_BUILD_FAILED\)\n$/, 'with one line on stderr');
    t.equal((await request(sb.port, '/function/built', { body: 'still' })).body, 'hello still from v2\n', 'and changes nothing: the function keeps its image');

    const copied = await sb.faassctl('deploy', 'copied', '--from-file', path.dirname(path.dirname(writeFixture(sb, 'code/sub/Dockerfile', `FROM ${BUSYBOX}\nCMD ["echo", "from a copy"]\n`))), '--build', 'sub', '--idle', '1');
    t.equal(copied.code, 0, `--from-file DIR --build PATH: a context inside the copied code ${copied.stderr}`);
    t.equal((await request(sb.port, '/function/copied')).body, 'from a copy\n');
    const nofile = await sb.faassctl('deploy', 'nodockerfile', '--build', path.dirname(writeFixture(sb, 'empty/x', 'x')));
    t.equal(nofile.code, 2);
    t.match(nofile.stderr, /No Dockerfile in the build context/);
    t.equal((await sb.faassctl('describe', 'nodockerfile')).code, 3, 'nothing deployed');
    const notbuilt = await sb.faassctl('build', 'dcat');
    t.equal(notbuilt.code, 2, 'build of a function without a build context is refused');
    t.match(notbuilt.stderr, /has no build context/);

    const images = async () => (await engine.docker.listImages({ filters: { reference: ['faass/built:*'] } })).flatMap((i) => i.RepoTags ?? []);
    t.equal((await images()).length, 2, 'the current image and the one before are kept');
    writeFixture(sb, 'ctx/Dockerfile', `FROM ${BUSYBOX}\nCOPY greet.sh /greet.sh\nRUN echo v3 > /version\nCMD ["sh", "/greet.sh"]\n`);
    t.equal((await sb.faassctl('build', 'built')).code, 0);
    t.equal((await images()).length, 2, 'older ones are pruned');
    t.equal((await sb.faassctl('delete', 'built')).code, 0);
    t.same(await images(), [], 'delete removes the images it built');
  });

  // Issue 11 item 24: what .dockerignore excludes is not sent (a 2 GiB unused file was), and a
  // build that outlasts [docker] build_timeout is cancelled, the function keeping its image.
  t.test('builds: .dockerignore is honoured; a build past build_timeout is cancelled', async (t) => {
    const dir = path.dirname(writeFixture(sb, 'ictx/Dockerfile', `FROM ${BUSYBOX}\nCOPY . /ctx\nCMD ["ls", "/ctx", "/ctx/sub"]\n`));
    writeFixture(sb, 'ictx/.dockerignore', '# not for the image\nbig.bin\n**/*.log\ncache\n');
    writeFixture(sb, 'ictx/keep.txt', 'kept\n');
    writeFixture(sb, 'ictx/sub/debug.log', 'x\n');
    writeFixture(sb, 'ictx/sub/kept.txt', 'kept\n');
    writeFixture(sb, 'ictx/cache/blob', 'x\n');
    fs.truncateSync(writeFixture(sb, 'ictx/big.bin', ''), 64 * 1024 * 1024); // sparse: costs no disk
    const dep = await sb.faassctl('deploy', 'ignored', '--build', dir, '--idle', '1');
    t.equal(dep.code, 0, `deploy --build ${dep.stderr}`);
    t.equal((await request(sb.port, '/function/ignored')).body, '/ctx:\nDockerfile\nkeep.txt\nsub\n\n/ctx/sub:\nkept.txt\n', 'what .dockerignore names is not in the image: it was not sent');

    t.teardown(() => sb.faassctl('init', '--build-timeout', '10min'));
    t.equal((await sb.faassctl('init', '--build-timeout', '2s')).code, 0, 'init --build-timeout');
    writeFixture(sb, 'ictx/Dockerfile', `FROM ${BUSYBOX}\nRUN sleep 3601\n`);
    const slow = await sb.faassctl('build', 'ignored');
    t.equal(slow.code, 2, 'a build past build_timeout fails');
    t.match(slow.stderr, /^faassctl: Build of ignored was cancelled after build_timeout=2s \(\[docker\] in faass.conf\); ignored keeps the image it had \(FAASS_E_BUILD_FAILED\)\n$/, 'with one line on stderr');
    t.match((await request(sb.port, '/function/ignored')).body, /^\/ctx:\nDockerfile\n/, 'the function keeps its image');
    const building = async () => (await engine.docker.listContainers({ all: true })).filter((c) => c.Command.includes('sleep 3601')).length;
    await waitFor("the cancelled step's container to go", async () => (await building()) === 0, 30000).catch(() => undefined);
    t.equal(await building(), 0, 'the engine cancelled the build: its step is no longer running');
    t.equal((await sb.faassctl('delete', 'ignored')).code, 0);
  });

  t.test('remote: deploy --build DIR uploads the context, build rebuilds it there', async (t) => {
    const token = (await sb.faassctl('credentials', 'add', 'builder', '--admin')).stdout.trim();
    const gw = ['--gateway', `http://127.0.0.1:${sb.port}`, '--token', token];
    const ctx = path.dirname(writeFixture(sb, 'rctx/Dockerfile', `FROM ${BUSYBOX}\nCOPY greet.sh /greet.sh\nCMD ["sh", "/greet.sh"]\n`));
    writeFixture(sb, 'rctx/greet.sh', 'echo "remote build"\n');
    const dep = await sb.faassctl(...gw, 'deploy', 'rbuilt', '--build', ctx, '--idle', '1');
    t.equal(dep.code, 0, `remote deploy --build ${dep.stderr}`);
    t.equal((await request(sb.port, '/function/rbuilt')).body, 'remote build\n', 'a call runs the image built on the gateway host');
    const described = (await sb.faassctl('describe', 'rbuilt')).stdout;
    t.match(described, /^build=\.$/m, 'built from the uploaded code, not from a path of the client');
    const again = await sb.faassctl(...gw, 'build', 'rbuilt');
    t.equal(again.code, 0, `remote build ${again.stderr}`);
    t.match(again.stdout, /is unchanged/, 'rebuilding unchanged code keeps the image');
    const bad = await sb.faassctl(...gw, 'deploy', 'rbad', '--build', path.dirname(writeFixture(sb, 'rbad/Dockerfile', `FROM ${BUSYBOX}\nRUN exit 3\n`)));
    t.equal(bad.code, 2, 'a failing remote build exits 2');
    t.match(bad.stderr, /FAASS_E_BUILD_FAILED/);
    t.equal((await sb.faassctl('describe', 'rbad')).code, 3, 'and deploys nothing');
    t.equal((await sb.faassctl(...gw, 'delete', 'rbuilt')).code, 0);
  });

  // A start the engine refuses while the container never ran is tried once more in a fresh
  // container (docker-executor.ts retryRefusedStart). A command the image lacks is refused every
  // time, so this sees the whole path: two refusals, one warning, the engine's reason, no leak.
  t.test('a start the engine refuses twice: one warning naming the call, a 500 with the reason, no container left', async (t) => {
    await deploy('dnoexec', '--command', '/no/such/program');
    const r = await request(sb.port, '/function/dnoexec');
    t.equal(r.status, 500);
    t.equal(errorCode(r.body), 'FAASS_E_FUNCTION_FAILED');
    t.match(r.body, /the Docker engine refused the container: .*\/no\/such\/program/, `with the engine's reason ${r.body}`);
    // The runner removes a call's containers before it answers: no wait is needed, none is allowed.
    t.equal(await engine.countContainers('dnoexec'), 0, 'neither container is left');
    const callId = r.headers['x-call-id'] as string;
    // The call's own line (err: a 500) is written after its answer, so after any retry's warning.
    const ofCall = () => journalEntries(sb, [`FAASS_CALL_ID=${callId}`, '-p', 'warning']);
    await waitFor("the call's line in the journal", async () => (await ofCall()).some((e) => e.PRIORITY === '3'), 30_000);
    const lines = (await ofCall()).filter((e) => /trying once more in a fresh container/.test(e.MESSAGE ?? '')).map((e) => e.MESSAGE);
    t.equal(lines.length, 1, `one warning: ${JSON.stringify(lines)}`);
    t.match(lines[0], new RegExp(`^Call ${callId} of dnoexec: the Docker engine refused to start its container \\(.*/no/such/program`), 'naming the call and the reason');
  });

  t.test('bad input: missing image, engine unreachable', async (t) => {
    const r = await sb.faassctl('deploy', 'noimage', '--runtime', 'docker', '--image', 'faass-test/absent:1', '--idle', '1');
    t.equal(r.code, 0, 'deploy takes the image name (it may be loaded later)');
    const missing = await request(sb.port, '/function/noimage');
    t.equal(missing.status, 502);
    t.equal(errorCode(missing.body), 'FAASS_E_IMAGE_MISSING');
    const bad = await sb.faassctl('deploy', 'badimage', '--runtime', 'docker', '--image', 'Not A Ref');
    t.equal(bad.code, 2, 'an invalid image reference is refused');
    t.match(bad.stderr, /Invalid image/);
    t.equal((await sb.faassctl('init', '--docker-host', 'unix:///nonexistent/docker.sock')).code, 0);
    await sb.systemctl('stop', 'faass-fn-dcat.service');
    const down = await request(sb.port, '/function/dcat', { body: 'x' });
    t.equal(down.status, 502);
    t.equal(errorCode(down.body), 'FAASS_E_ENGINE_UNREACHABLE');
    t.equal((await sb.faassctl('init', '--docker-host', 'tcp://1.2.3.4:2375')).code, 2, 'a non-unix engine address is refused');
  });

  t.test('a service container the engine refuses to stop: said once with its id, stopped all the same', async (t) => {
    // The real engine behind a proxy of the test's own that answers the first stop with a 500.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-refuse-'));
    const socketPath = path.join(dir, 'docker.sock');
    let stops = 0;
    const proxy = http.createServer((req, res) => {
      if (req.method === 'POST' && /\/containers\/faass-svc-test-install-drefuse\/stop\b/.test(req.url ?? '') && stops++ === 0) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'refused by the test' }));
        return;
      }
      const up = http.request({ socketPath: engine.socket, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(socketPath, r));
    t.teardown(async () => {
      await engine.docker.getContainer('faass-svc-test-install-drefuse').remove({ force: true }).catch(() => undefined);
      proxy.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const cfg = buildFunctionConfig('drefuse', { kind: 'service', port: '9', runtime: 'docker', image: BUSYBOX, command: 'sleep 300', network: 'host' });
    const app = new ContainerApp(cfg, socketPath, 'test-install');
    await app.start();
    const id = (await engine.docker.getContainer('faass-svc-test-install-drefuse').inspect()).Id.slice(0, 12);
    const lines: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => (lines.push(...String(chunk).split('\n').filter(Boolean)), true)) as typeof process.stderr.write;
    try {
      await app.stop(10);
    } finally {
      process.stderr.write = write;
    }
    t.equal(stops, 2, 'the refused stop was tried again');
    const state = await engine.docker.getContainer('faass-svc-test-install-drefuse').inspect().then((i) => i.State, () => null);
    t.notOk(state?.Running, 'no container is left running');
    t.same(lines.filter((l) => /Failed to stop/.test(l)), [`warning: Failed to stop container ${id}: POST /containers/faass-svc-test-install-drefuse/stop?t=10: refused by the test, retrying`], 'one line, with the container id');
  });
});

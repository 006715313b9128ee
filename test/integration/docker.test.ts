// runtime=docker against a real Docker engine and the real systemd user manager.
import t from 'tap';
import { startSandbox, setupGateway, request, load } from '../support/sandbox';
import { startEngine, BUSYBOX } from '../support/docker';
import { encodeFramed } from '../../src/runner/framed';

const errorCode = (body: string) => (JSON.parse(body) as { error: { code: string } }).error.code;
const octal = (b: Buffer) => [...b].map((c) => '\\' + c.toString(8).padStart(3, '0')).join('');

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
    const frame = encodeFramed(201, { 'X-Boxed': 'yes' }, 'framed body');
    await deploy('dframed', '--command', `printf '${octal(frame)}'`, '--protocol', 'framed');
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
    await deploy('dmem', '--command', 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo ${#x}', '--memory-max', '32M');
    const mem = await request(sb.port, '/function/dmem');
    t.equal(mem.status, 500, 'over its memory limit');
    t.match(mem.body, /out of memory/, 'says it ran out of memory');
    await deploy('dhang', '--command', 'sleep 60', '--timeout', '1');
    const started = Date.now();
    const hang = await request(sb.port, '/function/dhang');
    t.equal(hang.status, 504);
    t.equal(errorCode(hang.body), 'FAASS_E_FUNCTION_TIMEOUT');
    t.ok(Date.now() - started < 6000, 'answered soon after the timeout');
    t.equal(await engine.countContainers('dhang'), 0, 'the timed-out container is gone');
  });

  t.test('1500 calls at concurrency 50: 0 failures, 0 containers left', async (t) => {
    const r = await load(sb.port, '/function/dcat', 1500, 50, (res) => res.status === 200 && res.body.startsWith('req-'));
    t.equal(r.failures.length, 0, `0 failed of ${r.sent} ${JSON.stringify(r.failures.slice(0, 3))}`);
    t.equal(await engine.countContainers(), 0, 'no container outlives its call');
  });

  t.test('leftovers of a killed runner are removed at the next start', async (t) => {
    const c = await engine.docker.createContainer({ Image: BUSYBOX, Cmd: ['sleep', '600'], Labels: { 'faass.function': 'dcat' } });
    await c.start();
    await sb.systemctl('stop', 'faass-fn-dcat.service');
    t.equal(await engine.countContainers('dcat'), 1, 'a stray container is there');
    t.equal((await request(sb.port, '/function/dcat', { body: 'x' })).status, 200);
    t.equal(await engine.countContainers('dcat'), 0, 'the runner removed it when it started');
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
});

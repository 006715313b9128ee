// Issue 11 item 19: a container service has a network of its own (network=none, the default) and
// is reached only through faass: its forwarder's unix socket, which the service's proxy connects
// to. Nothing on the host's loopback answers on its port, so --auth cannot be bypassed, and the
// app reaches nothing on the host's loopback (the gateway, other local services). Run as an
// ordinary user, as faass runs for real; the engine's socket is given to that user, as membership
// of the group docker gives it.
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { once } from 'node:events';
import type Docker from 'dockerode';
import { startSandbox, setupGateway, request, waitFor, unitState, freePort, TEST_USER, Sandbox } from '../support/sandbox';
import { catOf, journalEntries } from '../support/journal';
import { startEngine, BUSYBOX, Engine } from '../support/docker';

// The containers of a service, by faass's labels: the app's and its forwarder's.
async function containersOf(engine: Engine, name: string): Promise<{ app?: Docker.ContainerInfo; forwarder?: Docker.ContainerInfo; all: Docker.ContainerInfo[] }> {
  const all = await engine.docker.listContainers({ all: true, filters: { label: [`faass.function=${name}`] } });
  return { app: all.find((c) => !c.Labels['faass.role']), forwarder: all.find((c) => c.Labels['faass.role'] === 'forwarder'), all };
}

// A shell command in a container: its exit status and what it printed.
async function execIn(engine: Engine, id: string, cmd: string): Promise<{ code: number; out: string }> {
  const ex = await engine.docker.getContainer(id).exec({ Cmd: ['sh', '-c', cmd], AttachStdout: true, AttachStderr: true });
  const stream = await ex.start({ hijack: true, stdin: false });
  let out = '';
  stream.on('data', (d: Buffer) => (out += d.toString('latin1')));
  await new Promise((r) => (stream.on('end', r), stream.on('close', r)));
  let code: number | null = null;
  await waitFor('the command to end', async () => (code = (await ex.inspect()).ExitCode) !== null);
  return { code: code ?? -1, out };
}

// A connection of the test's own through the service's socket keeps its app from idling out
// while the test looks at it (the proxy exits only with none open).
async function hold(sb: Sandbox, name: string): Promise<() => void> {
  const c = net.connect(path.join(sb.env.XDG_RUNTIME_DIR as string, 'faass', 'fn', `${name}.sock`));
  c.on('error', () => undefined);
  await once(c, 'connect');
  return () => c.destroy();
}

// Whether anything accepts a TCP connection on the host's 127.0.0.1:port.
const hostAccepts = (port: number) =>
  new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve('accepted');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });

t.test('a container service in a network of its own', async (t) => {
  const engine = await startEngine(t);
  const sb = await startSandbox(t, { user: TEST_USER });
  const uid = fs.statSync(sb.env.XDG_RUNTIME_DIR as string).uid;
  fs.chmodSync(path.dirname(engine.socket), 0o711);
  fs.chownSync(engine.socket, uid, -1);
  t.equal((await sb.faassctl('init', '--port', String(sb.port), '--idle', '1', '--docker-host', `unix://${engine.socket}`)).code, 0);
  await setupGateway(sb, 1);
  const ci = (await sb.faassctl('credentials', 'add', 'ci')).stdout.trim();
  const auth = { authorization: `Bearer ${ci}` };
  const port = await freePort();
  const dep = await sb.faassctl('deploy', 'box', '--kind', 'service', '--port', String(port), '--runtime', 'docker', '--image', BUSYBOX, '--command', 'sh -c "echo boxed > /tmp/index.html && exec busybox httpd -f -p 127.0.0.1:$PORT -h /tmp"', '--auth', 'ci', '--idle', '1');
  t.equal(dep.code, 0, `deploy a container service with --auth, no --network ${dep.stderr}`);

  t.equal((await request(sb.port, '/function/box/index.html', { method: 'GET' })).status, 401, 'without the credential: 401');
  const r = await request(sb.port, '/function/box/index.html', { method: 'GET', headers: auth });
  t.equal(r.status, 200, `with it, answered through the gateway ${r.body}`);
  t.equal(r.body, 'boxed\n');
  let release = await hold(sb, 'box');
  t.teardown(() => release());
  const { app, forwarder } = await containersOf(engine, 'box');
  t.ok(app && app.State === 'running', 'the app runs in a container');
  t.ok(forwarder && forwarder.State === 'running', 'and its forwarder beside it');
  t.equal(app?.HostConfig.NetworkMode, 'none', 'the app has a network of its own');

  t.equal(await hostAccepts(port), 'ECONNREFUSED', "nothing on the host's loopback answers on the app's port while it runs: --auth cannot be bypassed");

  // From inside the app. busybox nc (its wget crashes in a static build, looking up names): the
  // app's own port answers, which shows the probe works; the gateway's and another local
  // service's do not.
  const other = net.createServer((c) => c.end('HTTP/1.0 200 OK\r\n\r\nother local service\n'));
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  t.teardown(() => other.close());
  const otherPort = (other.address() as net.AddressInfo).port;
  const probe = (p: number) => execIn(engine, app?.Id ?? '', `printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 127.0.0.1 ${p}`);
  const self = await probe(port);
  t.match(self.out, /HTTP\/1\.[01] 200[\s\S]*boxed/, "the probe reaches the app's own port from inside");
  const gw = await probe(sb.port);
  t.not(gw.code, 0, `the gateway's port is not reachable from the app: ${JSON.stringify(gw.out.slice(-80))}`);
  t.notMatch(gw.out, /HTTP\//, 'nothing answered');
  const oth = await probe(otherPort);
  t.not(oth.code, 0, `nor another service on the host's loopback: ${JSON.stringify(oth.out.slice(-80))}`);
  t.notMatch(oth.out, /other local service/);
  // Items 1-3 from inside the app: faass's sockets (the API's, the functions') and its files
  // (credentials, settings, code, state) are not in the app's file system at all.
  const env = sb.env as Record<string, string>;
  const faassPaths = [path.join(env.XDG_RUNTIME_DIR, 'faass', 'api.sock'), path.join(env.XDG_RUNTIME_DIR, 'faass', 'fn'), path.join(env.XDG_CONFIG_HOME, 'faass'), path.join(env.XDG_DATA_HOME, 'faass'), path.join(env.XDG_STATE_HOME, 'faass')];
  const seen = await execIn(engine, app?.Id ?? '', `for p in ${faassPaths.map((p) => `'${p}'`).join(' ')}; do ls -d "$p" 2>/dev/null; done; echo probed`);
  t.match(seen.out, /probed/, 'the probe ran');
  t.same(faassPaths.filter((p) => seen.out.includes(p)), [], "none of faass's sockets and files is in the app's container");
  // The mount points (the second field; the first line's options name the engine's own layers).
  const mounts = (await execIn(engine, app?.Id ?? '', "cut -d ' ' -f 2 /proc/mounts")).out.split('\n');
  t.same(mounts.filter((m) => /faass|\.sock$/.test(m)), [], 'nothing of faass is mounted into it');
  release();

  await waitFor('the app to stop when idle', async () => (await unitState(sb, 'faass-fn-box-app.service')) === 'inactive/dead', 30000).catch(() => undefined);
  t.equal(await unitState(sb, 'faass-fn-box-app.service'), 'inactive/dead', 'the app unit stops when idle');
  t.equal(await engine.countContainers('box'), 0, 'both its containers are removed with it');

  // Either container ending ends the app; the next call starts both again.
  for (const which of ['forwarder', 'app'] as const) {
    t.equal((await request(sb.port, '/function/box/index.html', { method: 'GET', headers: auth })).status, 200, `a call starts the service (before its ${which} is killed)`);
    release = await hold(sb, 'box');
    const before = await containersOf(engine, 'box');
    const killed = Date.now();
    await engine.docker.getContainer(before[which]?.Id ?? '').kill();
    release();
    await waitFor(`the app to see its ${which} killed`, async () => (await unitState(sb, 'faass-fn-box-app.service')).startsWith('failed') || (await containersOf(engine, 'box')).all.length === 0, 30000).catch(() => undefined);
    // This sandbox's lines since this kill (not the forwarder round's, nor another sandbox's).
    const j = catOf(await journalEntries(sb, ['--user-unit=faass-fn-box-app.service', '-p', 'err'], { since: killed }));
    t.match(j, which === 'forwarder' ? /the app forwarder container exited with status 137/ : /the app container exited with status 137/, `the journal says the ${which} ended`);
    await waitFor(`its containers to be removed`, async () => (await containersOf(engine, 'box')).all.length === 0, 30000).catch(() => undefined);
    t.equal((await containersOf(engine, 'box')).all.length, 0, `a killed ${which}: both containers are removed`);
    const again = await request(sb.port, '/function/box/index.html', { method: 'GET', headers: auth });
    t.equal(again.status, 200, `a killed ${which}: the next call is answered`);
    t.equal(again.body, 'boxed\n');
    const after = await containersOf(engine, 'box');
    t.not(after.app?.Id, before.app?.Id, 'by fresh containers');
  }

  t.equal((await sb.faassctl('delete', 'box')).code, 0, 'delete the service');
  t.equal(await engine.countContainers('box'), 0, 'nothing of it is left');
});

// A service's container against a fake Docker engine on a unix socket of the test's own: what
// is left when the engine refuses to stop it, and what the log says.
import t, { Test } from 'tap';
import * as http from 'node:http';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { ContainerApp } from '../../src/app/container-app';

const ID = '0123456789abcdef0123456789abcdef';
const APP = 'faass-svc-i-1-web';
const FWD = 'faass-fwd-i-1-web';
// On the host's network: the app alone. With a network of its own (the default), its forwarder too.
const cfg = buildFunctionConfig('web', { kind: 'service', port: '9001', runtime: 'docker', image: 'busybox', network: 'host' });
const own = buildFunctionConfig('web', { kind: 'service', port: '9001', runtime: 'docker', image: 'busybox' });

interface Box {
  running: boolean;
  body: Record<string, unknown>;
  waiting: http.ServerResponse[];
}

// The engine's side of the calls faass-app makes: list leftovers by label, remove, create, start,
// wait, stop; `refuse` stops (or removals of a running container) of the app fail with 500.
// Containers are known by name, and the app by its id too.
async function fakeEngine(t: Test, refuse: { stops: number; removals: number }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-engine-'));
  const socketPath = path.join(dir, 'docker.sock');
  const boxes = new Map<string, Box>();
  const state = {
    stops: 0,
    creates: 0,
    removals: 0,
    boxes,
    get exists() {
      return boxes.has(APP);
    },
    get running() {
      return boxes.get(APP)?.running ?? false;
    },
    get created() {
      return boxes.get(APP)?.body ?? null;
    },
  };
  // Once faass-app waits on the container (its wait request has arrived).
  // Polled (the fake engine has no event for it), with a deadline: a faass-app that never waits
  // fails here with what was missing, instead of hanging the file until tap's timeout.
  const watched = async (name: string) => {
    for (const end = Date.now() + 20_000; !boxes.get(name)?.waiting.length; ) {
      if (Date.now() > end) throw new Error(`faass-app never waited on container ${name}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const exited = (name: string, code = 137) => {
    for (const res of boxes.get(name)?.waiting.splice(0) ?? []) res.end(JSON.stringify({ StatusCode: code }));
  };
  const refused = (res: http.ServerResponse, what: string) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: `cannot ${what} container ${ID}: permission denied` }));
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://docker');
    if (req.method === 'GET' && url.pathname === '/v1.41/containers/json') {
      const labels = (JSON.parse(url.searchParams.get('filters') ?? '{}') as { label: string[] }).label;
      const match = [...boxes.entries()].filter(([, b]) => labels.every((l) => (b.body.Labels as Record<string, string>)[l.split('=')[0]] === l.split('=')[1]));
      return void res.end(JSON.stringify(match.map(([name]) => ({ Id: name }))));
    }
    const name = url.searchParams.get('name');
    if (req.method === 'POST' && url.pathname === '/v1.41/containers/create' && name) {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (boxes.has(name)) return void res.writeHead(409).end(JSON.stringify({ message: 'Conflict: the name is in use' }));
        boxes.set(name, { running: false, body: JSON.parse(body) as Record<string, unknown>, waiting: [] });
        state.creates++;
        res.writeHead(201).end(JSON.stringify({ Id: name === APP ? ID : `${name}-id` }));
      });
      return;
    }
    const m = /^\/v1\.41\/containers\/([^/]+)(?:\/(json|start|stop|wait))?$/.exec(url.pathname);
    const target = m && (m[1] === ID ? APP : decodeURIComponent(m[1]));
    const box = target ? boxes.get(target) : undefined;
    if (!m || !target || !box) {
      res.writeHead(404).end(JSON.stringify({ message: 'No such container' }));
      return;
    }
    const route = `${req.method} ${m[2] ?? ''}`;
    const isApp = target === APP;
    if (route === 'GET json') res.end(JSON.stringify({ Id: ID, State: { Running: box.running }, Config: { Labels: box.body.Labels } }));
    else if (route === 'POST start') {
      box.running = true;
      res.writeHead(204).end();
    } else if (route === 'POST wait') box.waiting.push(res);
    else if (route === 'POST stop') {
      if (isApp) state.stops++;
      if (isApp && refuse.stops-- > 0) return refused(res, 'stop');
      box.running = false;
      exited(target);
      res.writeHead(204).end();
    } else if (route === 'DELETE ') {
      if (isApp && box.running && refuse.removals-- > 0) return refused(res, 'remove');
      box.running = false;
      boxes.delete(target);
      if (isApp) state.removals++;
      for (const r of box.waiting.splice(0)) r.end(JSON.stringify({ StatusCode: 137 }));
      res.writeHead(204).end();
    } else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  t.teardown(() => {
    for (const n of boxes.keys()) exited(n);
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { socketPath, state, dir, exited, watched };
}

// The log lines written while fn runs (no journal here: log.ts writes "PRIORITY: message" to stderr).
async function logLines(fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stderr.write = write;
  }
  return lines;
}

t.test('the engine refuses the first stop: said once with the container id, tried again, stopped', async (t) => {
  const engine = await fakeEngine(t, { stops: 1, removals: 0 });
  const app = new ContainerApp(cfg, engine.socketPath, 'i-1');
  await app.start();
  t.ok(engine.state.running, 'the container runs');
  const lines = await logLines(() => app.stop(10));
  t.notOk(engine.state.running, 'no container is left running');
  const deadline = new Promise<string>((r) => setTimeout(r, 10000, 'still running after 10 s').unref()); // against the old code, it never ends
  t.match(await Promise.race([app.exited, deadline]), /container exited/, 'the app knows its container ended');
  const failed = lines.filter((l) => /Failed to stop/.test(l));
  t.equal(failed.length, 1, 'one line for the refused stop');
  t.match(failed[0], /^warning: Failed to stop container 0123456789ab: .*permission denied, retrying$/, 'systemd style, with the container id and the reason');
  t.same(lines.filter((l) => l.startsWith('err:')), [], 'nothing at err: the container did stop');
});

t.test('the engine refuses every stop: the container is killed and removed', async (t) => {
  const engine = await fakeEngine(t, { stops: Infinity, removals: 0 });
  const app = new ContainerApp(cfg, engine.socketPath, 'i-1');
  await app.start();
  const lines = await logLines(() => app.stop(10));
  t.notOk(engine.state.running, 'no container is left running');
  t.notOk(engine.state.exists, 'it was removed (the next start creates it anew)');
  t.equal(engine.state.stops, 2, 'the stop was tried twice first');
  t.equal(lines.filter((l) => /Failed to stop container 0123456789ab/.test(l)).length, 1, 'and said once');
});

t.test('the engine refuses the stops and the removal: the log says the container is left running', async (t) => {
  const engine = await fakeEngine(t, { stops: Infinity, removals: 1 });
  const app = new ContainerApp(cfg, engine.socketPath, 'i-1');
  await app.start();
  const lines = await logLines(() => app.stop(10));
  t.ok(engine.state.running, 'the engine kept it running');
  t.match(lines.filter((l) => l.startsWith('err:')), [/^err: Failed to kill container 0123456789ab: .*permission denied; it is left running$/], 'one line at err says so');
});

t.test('a fresh container at every start, removed at every stop', async (t) => {
  const engine = await fakeEngine(t, { stops: 0, removals: 0 });
  const first = new ContainerApp(cfg, engine.socketPath, 'i-1');
  await first.start();
  t.equal(engine.state.created?.Image, 'busybox', 'created from the spec');
  t.equal((engine.state.created?.HostConfig as Record<string, unknown>).ReadonlyRootfs, true, 'with a read-only root');
  await first.stop(10);
  t.notOk(engine.state.exists, 'removed when it stops: nothing it wrote is kept');
  const second = new ContainerApp(cfg, engine.socketPath, 'i-1');
  await second.start();
  t.equal(engine.state.creates, 2, 'the next start creates it anew');
  await second.stop(10);
  const killed = new ContainerApp(cfg, engine.socketPath, 'i-1');
  await killed.start(); // and is never stopped: its app was killed
  const next = new ContainerApp(cfg, engine.socketPath, 'i-1');
  await next.start();
  t.equal(engine.state.creates, 4, 'a leftover of a killed app is removed first, not reused');
  await next.stop(10);
  t.notOk(engine.state.exists);
});

// Issue 11 item 19: a container service's own network, and the forwarder that is its only way in.
t.test('a network of its own: the forwarder joins the app, both go at the stop, either ending ends the app', async (t) => {
  const engine = await fakeEngine(t, { stops: 0, removals: 0 });
  const program = path.join(engine.dir, 'faass-forward');
  fs.writeFileSync(program, '');
  const socketDir = path.join(engine.dir, 'svc-web');
  const files = { program, socketDir, socketPath: path.join(socketDir, 'app.sock') };
  t.throws(() => new ContainerApp(own, engine.socketPath, 'i-1'), /needs its forwarder/, 'never without its forwarder');
  const app = new ContainerApp(own, engine.socketPath, 'i-1', files);
  t.same(app.address, { socketPath: files.socketPath }, "ready, and reached, at the forwarder's socket");
  fs.mkdirSync(socketDir);
  fs.writeFileSync(files.socketPath, 'left by a killed forwarder');
  await app.start();
  t.notOk(fs.existsSync(files.socketPath), 'a socket left by a killed forwarder is gone before the new one starts');
  const fwd = engine.state.boxes.get(FWD);
  t.equal((engine.state.created?.HostConfig as Record<string, unknown>).NetworkMode, 'none', 'the app: a network of its own');
  t.equal((fwd?.body.HostConfig as Record<string, unknown>).NetworkMode, `container:${ID.slice(0, 12)}`, "the forwarder: in the app's");
  t.ok(fwd?.running && engine.state.running, 'both run');
  await engine.watched(FWD);
  engine.exited(FWD);
  t.match(await app.exited, /forwarder container exited with status 137/, 'a forwarder that ends ends the app, saying which');
  t.notOk(app.alive());
  await app.stop(10);
  t.equal(engine.state.boxes.size, 0, 'the stop removes both');

  const again = new ContainerApp(own, engine.socketPath, 'i-1', files);
  await again.start();
  t.equal(engine.state.boxes.size, 2);
  const killed = new ContainerApp(own, engine.socketPath, 'i-1', files);
  await killed.start(); // the previous app was killed: its two containers are leftovers
  t.equal(engine.state.creates, 6, 'leftovers of a killed app, found by their labels, are removed and made anew');
  await engine.watched(APP);
  engine.exited(APP, 3);
  t.match(await killed.exited, /^container exited with status 3$/, 'an app that ends ends it too');
  await killed.stop(10);
  t.equal(engine.state.boxes.size, 0);

  fs.rmSync(program);
  const unbuilt = new ContainerApp(own, engine.socketPath, 'i-1', files);
  await t.rejects(unbuilt.start(), /forwarder .*faass-forward is missing.*apt-get install gcc libc6-dev.*--network host/, 'without the forwarder built: said, with what to do');
  t.equal(engine.state.creates, 6, 'and nothing is created');
});

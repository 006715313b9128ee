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
const cfg = buildFunctionConfig('web', { kind: 'service', port: '9001', runtime: 'docker', image: 'busybox' });

// The engine's side of the calls faass-app makes: remove a leftover, create, start, wait, stop,
// remove; `refuse` stops (or removals of a running container) fail with 500.
async function fakeEngine(t: Test, refuse: { stops: number; removals: number }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-engine-'));
  const socketPath = path.join(dir, 'docker.sock');
  const state = { exists: false, running: false, stops: 0, creates: 0, removals: 0, created: null as Record<string, unknown> | null, waiting: [] as http.ServerResponse[] };
  const exited = () => {
    for (const res of state.waiting.splice(0)) res.end(JSON.stringify({ StatusCode: 137 }));
  };
  const refused = (res: http.ServerResponse, what: string) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: `cannot ${what} container ${ID}: permission denied` }));
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://docker');
    if (req.method === 'POST' && url.pathname === '/v1.41/containers/create' && url.searchParams.get('name') === 'faass-svc-web') {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (state.exists) return void res.writeHead(409).end(JSON.stringify({ message: 'Conflict: the name is in use' }));
        state.exists = true;
        state.creates++;
        state.created = JSON.parse(body) as Record<string, unknown>;
        res.writeHead(201).end(JSON.stringify({ Id: ID }));
      });
      return;
    }
    const m = /^\/v1\.41\/containers\/faass-svc-web(?:\/(json|start|stop|wait))?$/.exec(url.pathname);
    if (!m || !state.exists) {
      res.writeHead(404).end(JSON.stringify({ message: 'No such container' }));
      return;
    }
    const route = `${req.method} ${m[1] ?? ''}`;
    if (route === 'GET json') res.end(JSON.stringify({ Id: ID, State: { Running: state.running }, Config: { Labels: { 'faass.function': 'web' } } }));
    else if (route === 'POST start') {
      state.running = true;
      res.writeHead(204).end();
    } else if (route === 'POST wait') state.waiting.push(res);
    else if (route === 'POST stop') {
      state.stops++;
      if (refuse.stops-- > 0) return refused(res, 'stop');
      state.running = false;
      exited();
      res.writeHead(204).end();
    } else if (route === 'DELETE ') {
      if (state.running && refuse.removals-- > 0) return refused(res, 'remove');
      state.running = false;
      state.exists = false;
      state.removals++;
      exited();
      res.writeHead(204).end();
    } else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  t.teardown(() => {
    exited();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { socketPath, state };
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

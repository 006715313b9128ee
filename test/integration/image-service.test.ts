// faassctl image of a service (kind=service, issue 17): a process service and a container service
// deployed here (the same tiny node server) and the image faassctl image builds of it, run with docker run -e PORT
// --network host, answer the same requests alike: status, body bytes and headers but for
// DIFFERING. The image's /_/ready follows the app; SIGTERM reaches the app, which ends
// gracefully, and the image exits 0. A service whose app never listens: /_/ready stays 503 and
// says why, and a call is the gateway's 503.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { startSandbox, setupGateway, freePort, waitFor, writeFixture, Sandbox } from '../support/sandbox';
import { startEngine, Engine } from '../support/docker';
import { importNodeBase } from '../support/node-base';

// date: the clock (the app's own Date header, passed on by both).
const DIFFERING = new Set(['date']);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function call(port: number, urlPath: string, opts: { method?: string; body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = opts.body ?? '';
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method: opts.method ?? 'GET', agent: false, headers: { 'content-length': String(Buffer.byteLength(body)), ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const without = (h: http.IncomingHttpHeaders): Record<string, unknown> => Object.fromEntries(Object.entries(h).filter(([k]) => !DIFFERING.has(k)).sort(([a], [b]) => a.localeCompare(b)));

// The app: by path, an echo of what it was sent, a status of its own, a large answer, a header
// faass keeps for itself, its health path; on SIGTERM it says so and exits 0.
const SERVER_JS = `const http = require('http');
const port = Number(process.env.PORT);
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const p = req.url.split('?')[0];
    if (p === '/hz') return res.end('healthy');
    if (p === '/status') { res.writeHead(418, { 'x-fn': 'teapot', 'x-faass-version': '99' }); return res.end('short and stout\\n'); }
    if (p === '/big') return res.end('a'.repeat(3 * 1024 * 1024));
    if (p === '/slow') { console.log('slow call started'); return setTimeout(() => res.end('slow done'), 1500); }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-method': req.method, 'x-url': req.url, 'x-in': req.headers['x-in'] || '', 'x-seen-call-id': req.headers['x-call-id'] || '' });
    res.end(body);
  });
});
server.listen(port, '127.0.0.1', () => console.log('app listening on ' + port));
process.on('SIGTERM', () => { console.log('app got SIGTERM'); server.close(() => process.exit(0)); });
`;

// The same requests to both; every answer alike but for DIFFERING.
async function sameAnswers(t: Test, sb: Sandbox, name: string, front: number): Promise<void> {
  t.equal((await call(front, '/_/health')).status, 200, 'health answers');
  const big = Buffer.alloc(1536 * 1024, 'x');
  const asked: [string, { method: string; body?: Buffer | string; headers?: Record<string, string> }][] = [
    ['/hello?name=x&y=2', { method: 'GET', headers: { 'x-in': 'abc' } }],
    ['/echo', { method: 'POST', body: 'some body', headers: { 'x-in': 'posted', 'content-type': 'text/plain' } }],
    ['/status', { method: 'GET' }],
    ['/big', { method: 'GET' }],
    ['/echo', { method: 'PUT', body: big }],
    ['/hz', { method: 'GET' }],
  ];
  for (const [p, o] of asked) {
    const headers = { ...o.headers, 'x-call-id': `svc-${name}-${p.replace(/\W/g, '')}-${o.method}` };
    const [local, image] = await Promise.all([call(sb.port, `/function/${name}${p}`, { ...o, headers }), call(front, p, { ...o, headers })]);
    const what = `${name}: ${o.method} ${p}`;
    t.equal(image.status, local.status, `${what}: the same status (${local.status})`);
    t.ok(image.body.equals(local.body), `${what}: the same body bytes (${local.body.length}) ${image.body.length <= 200 ? image.body.toString() : ''}`);
    t.same(without(image.headers), without(local.headers), `${what}: the same headers but for ${[...DIFFERING].join(', ')}`);
  }
}

async function runImage(engine: Engine, ref: string, port: number): Promise<string> {
  const c = await engine.docker.createContainer({ Image: ref, Env: [`PORT=${port}`, 'FAASS_LISTEN_HOST=127.0.0.1'], HostConfig: { NetworkMode: 'host' } });
  await c.start();
  return c.id;
}

async function readyOn(engine: Engine, id: string, port: number): Promise<void> {
  await waitFor(`the image's readiness on port ${port}`, async () => {
    const st = await engine.docker.getContainer(id).inspect();
    if (!st.State.Running) throw new Error(`the image's container exited ${st.State.ExitCode}: ${(await logsOf(engine, id)).slice(-2000)}`);
    return call(port, '/_/ready').then((r) => r.status === 200, () => false);
  }, 30000);
}

async function logsOf(engine: Engine, id: string): Promise<string> {
  const b = (await engine.docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  return b.toString('utf8');
}

t.test('faassctl image of a service: the image answers as the local service does', async (t) => {
  const engine = await startEngine(t);
  const imported = importNodeBase(engine.docker);
  const sb = await startSandbox(t);
  t.equal((await sb.faassctl('init', '--port', String(sb.port), '--idle', '1', '--docker-host', `unix://${engine.socket}`)).code, 0);
  await setupGateway(sb, 1);
  const base = await imported;
  const containers: string[] = [];
  t.teardown(async () => {
    for (const id of containers) await engine.docker.getContainer(id).remove({ force: true }).catch(() => undefined);
  });
  const ports = new Set<number>();
  while (ports.size < 6) ports.add(await freePort());
  const [pFront, pApp, pMute, pMuteApp, pBox, pBoxApp] = [...ports];
  const code = writeFixture(sb, 'web/server.js', SERVER_JS);
  const d = await sb.faassctl('deploy', 'web', '--kind', 'service', '--port', String(pApp), '--health', '/hz', '--command', 'node server.js', '--from-file', code.replace(/\/server\.js$/, ''), '--timeout', '5', '--idle', '2');
  t.equal(d.code, 0, `service deployed: ${d.stderr}`);
  // An app that never listens: ready_timeout short, so /_/ready says why soon.
  const m = await sb.faassctl('deploy', 'mute', '--kind', 'service', '--port', String(pMuteApp), '--command', 'sleep 600', '--ready-timeout', '2');
  t.equal(m.code, 0, `mute deployed: ${m.stderr}`);
  // The container service: the same server in an image of its own, run by its CMD.
  const ctx = path.join(sb.dir, 'svc-image');
  fs.mkdirSync(ctx, { recursive: true });
  fs.writeFileSync(path.join(ctx, 'server.js'), SERVER_JS);
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${base}\nCOPY server.js /app/server.js\nCMD ["node", "/app/server.js"]\n`);
  const built = await sb.run('docker', ['-H', `unix://${engine.socket}`, 'build', '-q', '-t', 'faass-test/svc-web:1', ctx]);
  t.equal(built.code, 0, `the service's own image: ${built.stderr}`);
  const b = await sb.faassctl('deploy', 'box', '--kind', 'service', '--runtime', 'docker', '--image', 'faass-test/svc-web:1', '--port', String(pBoxApp), '--health', '/hz', '--timeout', '5', '--idle', '2');
  t.equal(b.code, 0, `container service deployed: ${b.stderr}`);
  const build = async (name: string): Promise<string> => {
    const r = await sb.faassctl('image', name, '--image-prefix', 'registry.test/faass', '--base', base);
    if (r.code !== 0) throw new Error(`faassctl image ${name} exited ${r.code}: ${r.stderr.slice(-1500)}`);
    return r.stdout.trim();
  };
  const [webRef, muteRef, boxRef] = await Promise.all([build('web'), build('mute'), build('box')]);
  t.equal(webRef, 'registry.test/faass/web:1', 'tagged as faassctl export names it');
  const exported = await sb.faassctl('export', 'web', '--to', 'knative', '--image-prefix', 'registry.test/faass');
  t.match(exported.stdout, `image: ${webRef}\n`, 'the reference export writes is the one built');

  t.test('the same answers', async (t) => {
    const id = await runImage(engine, webRef, pFront);
    containers.push(id);
    await readyOn(engine, id, pFront);
    await sameAnswers(t, sb, 'web', pFront);
    // SIGTERM during a call: the call is answered, then the app gets SIGTERM and ends as it
    // chooses; the image exits 0 with it.
    const slow = call(pFront, '/slow');
    await waitFor('the slow call to reach the app', async () => (await logsOf(engine, id)).includes('slow call started'), 20000);
    await engine.docker.getContainer(id).kill({ signal: 'SIGTERM' });
    const done = await slow;
    t.equal(`${done.status} ${done.body.toString()}`, '200 slow done', 'the call in flight at SIGTERM is answered');
    const exit = (await engine.docker.getContainer(id).wait()) as { StatusCode: number };
    t.equal(exit.StatusCode, 0, 'the image exits 0 after SIGTERM');
    t.match(await logsOf(engine, id), 'app got SIGTERM', 'the app was sent SIGTERM');
  });

  t.test('a container service: built FROM its image, node borrowed from the base', async (t) => {
    const id = await runImage(engine, boxRef, pBox);
    containers.push(id);
    await readyOn(engine, id, pBox);
    await sameAnswers(t, sb, 'box', pBox);
    const info = await engine.docker.getImage(boxRef).inspect();
    t.equal(info.Config.User, '65532:65532', 'the image says a user that is not root');
  });

  t.test('an app that never listens: not ready, and says why', async (t) => {
    const id = await runImage(engine, muteRef, pMute);
    containers.push(id);
    await waitFor('health on the front', () => call(pMute, '/_/health').then((r) => r.status === 200, () => false), 30000);
    const why = `not ready: the app did not accept connections on 127.0.0.1:${pMuteApp} within ready_timeout=2s\n`;
    await waitFor('/_/ready to say the ready timeout ran out', async () => (await call(pMute, '/_/ready')).body.toString() === why, 30000);
    const ready = await call(pMute, '/_/ready');
    t.equal(ready.status, 503, `/_/ready: 503 ${ready.body.toString().trim()}`);
    const c = await call(pMute, '/anything');
    t.equal(c.status, 503, 'a call: 503');
    t.match(c.body.toString(), `Service mute did not get ready: the app did not accept connections on 127.0.0.1:${pMuteApp}`, `and says why: ${c.body.toString().trim()}`);
  });
});

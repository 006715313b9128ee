// faassctl image (issue 17): for each runtime (exec, node, python, container) a function deployed
// here, and each example function of the repository (hello as install.sh deploys it, the
// stacks' greet, shout and echo by faassctl up -f), and the image faassctl image builds of it,
// run with docker run -e PORT --network host, answer the same requests alike: status, body bytes and headers, but for DIFFERING. The image
// also answers its health and readiness paths, finishes a call in flight on SIGTERM and exits 0,
// runs as a user that is not root, and holds no secret's value.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { startSandbox, setupGateway, freePort, waitFor, writeFixture, Sandbox } from '../support/sandbox';
import { startEngine, BUSYBOX, Engine } from '../support/docker';
import { importNodeBase } from '../support/node-base';
import { ROOT } from '../support/root';

// Headers that must differ between the two, and why (faassctl-image(1) says the same):
// date: the clock; x-duration-seconds: how long this call took; x-faass-start: cold or warm is
// the life of the runner that answered (the local one exits when idle, the image's does not).
const DIFFERING = new Set(['date', 'x-duration-seconds', 'x-faass-start']);

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

// One script for exec (protocol framed) and the container function: by Http_Path, an echo, a
// status of its own, a call past its timeout, an output past max_output, a slow call, its uid,
// and a hash of its secret (never the value).
const FRAMED_JS = `#!/usr/bin/env node
const fs = require('fs');
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const body = Buffer.concat(chunks);
  const send = (code, headers, b) => {
    const h = Buffer.from(JSON.stringify({ code, headers }));
    const out = Buffer.alloc(8 + h.length + b.length);
    out.writeUInt32BE(h.length, 0); h.copy(out, 4); out.writeUInt32BE(b.length, 4 + h.length); b.copy(out, 8 + h.length);
    process.stdout.write(out);
  };
  const p = process.env.Http_Path;
  if (p === '/status') return send(418, { 'x-fn': 'teapot' }, Buffer.from('short and stout\\n'));
  if (p === '/sleep') return setTimeout(() => send(200, {}, Buffer.from('late')), 60000);
  if (p === '/big') return send(200, {}, Buffer.alloc(3 * 1024 * 1024, 97));
  if (p === '/slow') { process.stderr.write('slow call started\\n'); return setTimeout(() => send(200, {}, Buffer.from('slow done')), 1500); }
  if (p === '/whoami') return send(200, {}, Buffer.from('uid ' + process.getuid()));
  if (p === '/secret') return send(200, {}, Buffer.from(require('crypto').createHash('sha256').update(fs.readFileSync(process.env.CREDENTIALS_DIRECTORY + '/tok')).digest('hex')));
  send(200, { 'x-echo-in': process.env.Http_X_In || '', 'x-method': process.env.Http_Method, 'x-query': process.env.Http_Query, 'content-type': 'application/octet-stream' }, body);
});
`;

const NODE_JS = `module.exports = async (event) => {
  if (event.path === '/status') return { statusCode: 418, headers: { 'x-fn': 'teapot' }, body: 'short and stout\\n' };
  if (event.path === '/sleep') { await new Promise((r) => setTimeout(r, 60000)); return 'late'; }
  if (event.path === '/big') return 'a'.repeat(3 * 1024 * 1024);
  if (event.path === '/slow') { console.error('slow call started'); await new Promise((r) => setTimeout(r, 1500)); return 'slow done'; }
  if (event.path === '/whoami') return 'uid ' + process.getuid();
  return { statusCode: 200, headers: { 'x-echo-in': event.headers['x-in'] || '', 'x-method': event.method, 'x-query': event.query, 'content-type': 'application/octet-stream' }, body: Buffer.from(event.body || '') };
};
`;

const PYTHON_PY = `import os, time
def handle(event, context):
    p = event["path"]
    if p == "/status":
        return {"statusCode": 418, "headers": {"x-fn": "teapot"}, "body": "short and stout\\n"}
    if p == "/sleep":
        time.sleep(60)
        return "late"
    if p == "/big":
        return "a" * (3 * 1024 * 1024)
    if p == "/whoami":
        return "uid %d" % os.getuid()
    return {"statusCode": 200, "headers": {"x-echo-in": event["headers"].get("x-in", ""), "x-method": event["method"], "x-query": event["query"], "content-type": "application/octet-stream"}, "body": event["rawBody"]}
`;

const LIMITS = ['--timeout', '2', '--max-output', '2M', '--idle', '1'];
const BIG = Buffer.alloc(1536 * 1024, 'x'); // 1.5 MiB: within max_output, a large body each way

// The same requests to both; every answer alike but for DIFFERING.
async function compareAll(t: Test, sb: Sandbox, name: string, port: number, extra: string[] = []): Promise<void> {
  const asked: [string, { method?: string; body?: Buffer | string; headers?: Record<string, string> }][] = [
    ['/hello?name=x&y=2', { method: 'GET', headers: { 'x-in': 'abc' } }],
    ['/echo', { method: 'POST', body: 'some body', headers: { 'x-in': 'posted', 'content-type': 'text/plain' } }],
    ['/status', { method: 'GET' }],
    ['/sleep', { method: 'POST' }],
    ['/big', { method: 'GET' }],
    ['/echo', { method: 'PUT', body: BIG }],
    ...extra.map((p): [string, { method?: string }] => [p, { method: 'GET' }]),
  ];
  for (const [p, o] of asked) {
    const id = `image-${name}-${p.replace(/\W/g, '')}-${o.method}`;
    const headers = { ...o.headers, 'x-call-id': id };
    // Both at once: the calls past the timeout wait it out together.
    const [local, image] = await Promise.all([call(sb.port, `/function/${name}${p}`, { ...o, headers }), call(port, p, { ...o, headers })]);
    const what = `${name}: ${o.method} ${p}`;
    t.equal(image.status, local.status, `${what}: the same status (${local.status})`);
    t.ok(image.body.equals(local.body), `${what}: the same body bytes (${local.body.length}) ${image.body.length <= 300 ? image.body.toString() : ''}`);
    t.same(without(image.headers), without(local.headers), `${what}: the same headers but for ${[...DIFFERING].join(', ')}`);
    for (const h of DIFFERING) t.ok(h in image.headers, `${what}: the image's answer has ${h} too`);
  }
}

interface Running {
  ref: string;
  port: number;
  id: string;
}

async function runImage(engine: Engine, ref: string, port: number, binds: string[] = []): Promise<string> {
  const c = await engine.docker.createContainer({ Image: ref, Env: [`PORT=${port}`, 'FAASS_LISTEN_HOST=127.0.0.1'], HostConfig: { NetworkMode: 'host', Binds: binds } });
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

t.test('faassctl image: the image answers as the local function does', async (t) => {
  const engine = await startEngine(t);
  // The base's import (a few seconds) goes on while the sandbox starts.
  const imported = importNodeBase(engine.docker);
  const sb = await startSandbox(t);
  t.equal((await sb.faassctl('init', '--port', String(sb.port), '--idle', '1', '--docker-host', `unix://${engine.socket}`)).code, 0);
  await setupGateway(sb, 1);
  const base = await imported;
  const containers: string[] = [];
  t.teardown(async () => {
    for (const id of containers) await engine.docker.getContainer(id).remove({ force: true }).catch(() => undefined);
  });
  const SECRET = 'hunter2-secret-value-8d1f7c';
  const secretFile = writeFixture(sb, 'tok', SECRET);
  t.equal((await sb.run(process.execPath, [sb.faassctlPath, 'secret', 'create', 'tok'], { input: SECRET })).code, 0, 'secret created');
  const ports = new Set<number>();
  while (ports.size < 8) ports.add(await freePort());
  const [pExec, pNode, pPy, pBox, pHello, pGreet, pShout, pEcho] = [...ports];

  // Deployed, built, run and ready: the four at once (most of it is waiting on the engine).
  const imaged = async (name: string, port: number, build: string[] = [], binds: string[] = []): Promise<Running> => {
    const r = await sb.faassctl('image', name, '--image-prefix', 'registry.test/faass', '--base', base, ...build);
    if (r.code !== 0) throw new Error(`faassctl image ${name} exited ${r.code}: ${r.stderr.slice(-1500)}`);
    const ref = r.stdout.trim();
    t.comment(`faassctl image ${name}: ${/Built in [\d.]+s/.exec(r.stderr)?.[0] ?? 'built'} (eight builds at once)`);
    const id = await runImage(engine, ref, port, binds);
    containers.push(id);
    await readyOn(engine, id, port);
    return { ref, port, id };
  };
  const prepare = async (name: string, port: number, deploy: string[], build: string[] = [], binds: string[] = []): Promise<Running> => {
    const d = await sb.faassctl('deploy', name, ...deploy, ...LIMITS);
    if (d.code !== 0) throw new Error(`deploy ${name}: ${d.stderr}`);
    return imaged(name, port, build, binds);
  };
  // The repository's examples, deployed as a user would: hello as install.sh deploys it, the
  // stacks with faassctl up -f (their env, limits and x-faass settings as the files say).
  const ok = async (what: string, p: Promise<{ code: number; stderr: string }>): Promise<void> => {
    const r = await p;
    if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr}`);
  };
  const examples = {
    hello: ok('deploy hello', sb.faassctl('deploy', 'hello', '--runtime', 'node', '--from-file', path.join(ROOT, 'examples/hello/handler.js'))).then(() => imaged('hello', pHello)),
    greet: ok('up -f node', sb.faassctl('up', '-f', path.join(ROOT, 'examples/stacks/node/stack.yml'))).then(() => imaged('greet', pGreet)),
    python: ok('up -f python', sb.faassctl('up', '-f', path.join(ROOT, 'examples/stacks/python/stack.yml'))).then(() => Promise.all([imaged('shout', pShout), imaged('echo', pEcho)])),
  };
  // The container function's image: the framed script, run by its CMD (no command=). Its node
  // comes from a layer of its own, which faassctl image's does not rely on.
  const boxImage = async (): Promise<void> => {
    const ctx = path.join(sb.dir, 'fn-image');
    fs.mkdirSync(ctx, { recursive: true });
    fs.writeFileSync(path.join(ctx, 'framed.js'), FRAMED_JS, { mode: 0o755 });
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${base}\nCOPY framed.js /fn/framed.js\nCMD ["node", "/fn/framed.js"]\n`);
    const built = await sb.run('docker', ['-H', `unix://${engine.socket}`, 'build', '-q', '-t', 'faass-test/fn-framed:1', ctx]);
    if (built.code !== 0) throw new Error(`the function's image: ${built.stderr}`);
  };
  const [fexec, fnode, fpy, fbox, hello, greet, [shout, echo]] = await Promise.all([
    prepare('fexec', pExec, ['--runtime', 'exec', '--from-file', writeFixture(sb, 'framed.js', FRAMED_JS, 0o755), '--protocol', 'framed', '--secret', 'tok'], [], [`${secretFile}:/var/openfaas/secrets/tok:ro`]),
    prepare('fnode', pNode, ['--runtime', 'node', '--from-file', writeFixture(sb, 'node/handler.js', NODE_JS)], ['--tag', 'v7']),
    prepare('fpy', pPy, ['--runtime', 'python', '--from-file', writeFixture(sb, 'py/handler.py', PYTHON_PY)]),
    boxImage().then(() => prepare('fbox', pBox, ['--runtime', 'docker', '--image', 'faass-test/fn-framed:1', '--protocol', 'framed'])),
    examples.hello,
    examples.greet,
    examples.python,
  ]);

  t.test('exec (framed), with a secret', async (t) => {
    // The reference is export's, for the same options.
    const exported = await sb.faassctl('export', 'fexec', '--to', 'knative', '--image-prefix', 'registry.test/faass');
    t.match(exported.stdout, `image: ${fexec.ref}\n`, `faassctl export names the image faassctl image tagged (${fexec.ref})`);
    t.equal(fexec.ref, 'registry.test/faass/fexec:1', 'IMAGE-PREFIX/NAME:VERSION');
    await compareAll(t, sb, 'fexec', fexec.port, ['/secret']);
    const who = await call(fexec.port, '/whoami');
    t.match(who.body.toString(), /^uid [1-9]\d*$/, `the image's function runs as a user that is not root (${who.body.toString()})`);
    const health = await call(fexec.port, '/_/health');
    t.equal(health.status, 200, 'health answers');
    // No secret's value in the image: every layer and its config, as docker save writes them.
    const saved = (await engine.docker.getImage(fexec.ref).get()) as NodeJS.ReadableStream;
    let found = false;
    let tail = '';
    let bytes = 0;
    for await (const chunk of saved) {
      const text = tail + (chunk as Buffer).toString('latin1');
      bytes += (chunk as Buffer).length;
      if (text.includes(SECRET)) found = true;
      tail = text.slice(-SECRET.length);
    }
    t.ok(bytes > 1000000, `the image's tar was read (${bytes} bytes)`);
    t.notOk(found, 'the secret value is nowhere in the image');
    const info = await engine.docker.getImage(fexec.ref).inspect();
    t.equal(info.Config.User, '65532:65532', 'the image says a user that is not root');
    const baseInfo = await engine.docker.getImage(base).inspect();
    t.comment(`image ${fexec.ref}: ${(info.Size / 1e6).toFixed(1)} MB, of which faass and the function ${((info.Size - baseInfo.Size) / 1e6).toFixed(2)} MB over the base`);
  });

  t.test('node, and SIGTERM during a call', async (t) => {
    t.equal(fnode.ref, 'registry.test/faass/fnode:v7', '--tag');
    await compareAll(t, sb, 'fnode', fnode.port);
    t.match((await call(fnode.port, '/whoami')).body.toString(), /^uid [1-9]\d*$/, 'not root');
    // A call in flight, then SIGTERM: the call finishes, the runner exits 0.
    const slow = call(fnode.port, '/slow');
    await waitFor('the slow call to start in the image', async () => (await logsOf(engine, fnode.id)).includes('slow call started'), 20000);
    await engine.docker.getContainer(fnode.id).kill({ signal: 'SIGTERM' });
    const done = await slow;
    t.equal(done.status, 200, 'the call in flight at SIGTERM is answered');
    t.equal(done.body.toString(), 'slow done');
    const exit = (await engine.docker.getContainer(fnode.id).wait()) as { StatusCode: number };
    t.equal(exit.StatusCode, 0, 'the runner exits 0 after SIGTERM');
    await call(fnode.port, '/_/health').then(
      () => t.fail('nothing listens after the stop'),
      (e: NodeJS.ErrnoException) => t.equal(e.code, 'ECONNREFUSED', 'no longer accepting'),
    );
  });

  t.test('python', async (t) => {
    await compareAll(t, sb, 'fpy', fpy.port);
    t.match((await call(fpy.port, '/whoami')).body.toString(), /^uid [1-9]\d*$/, 'not root');
  });

  t.test('container: built FROM its image, with node borrowed from the base', async (t) => {
    await compareAll(t, sb, 'fbox', fbox.port);
    t.match((await call(fbox.port, '/whoami')).body.toString(), /^uid [1-9]\d*$/, 'not root');
  });

  // The "for each example function": the same requests, the same DIFFERING.
  t.test("the repository's examples: hello (install.sh), greet, shout and echo (faassctl up -f)", async (t) => {
    for (const [name, r] of Object.entries({ hello, greet, shout, echo })) await compareAll(t, sb, name, r.port);
    // What each says in the image, its stack's env included (greet's GREETING, shout's PREFIX).
    t.equal((await call(hello.port, '/', { method: 'POST', body: 'you' })).body.toString(), 'Hello, you!\n', 'hello');
    t.equal((await call(greet.port, '/')).body.toString(), 'Hello, world!', "greet, with GREETING from its stack file");
    t.equal((await call(shout.port, '/', { method: 'POST', body: 'hi' })).body.toString(), '>> HI', "shout, with PREFIX from its stack file");
    t.equal((await call(echo.port, '/', { method: 'POST', body: 'hi' })).body.toString(), 'hi', 'echo');
  });

  t.test('errors', async (t) => {
    const unknown = await sb.faassctl('image', 'nosuch', '--base', base);
    t.equal(unknown.code, 3, 'an unknown function: exit 3');
    t.match(unknown.stderr, /No function named nosuch/);
    const badTag = await sb.faassctl('image', 'fexec', '--tag', 'no good');
    t.equal(badTag.code, 2, 'a bad --tag: exit 2');
    t.match(badTag.stderr, /Invalid image/);
    const badPrefix = await sb.faassctl('image', 'fexec', '--image-prefix', 'UPPER/case');
    t.equal(badPrefix.code, 2, 'a bad --image-prefix: exit 2');
    const noNode = await sb.faassctl('image', 'fexec', '--base', BUSYBOX);
    t.not(noNode.code, 0, 'a base without node fails');
    t.match(noNode.stderr, `The base image ${BUSYBOX} has no node 20 or later on its PATH`, 'and says so');
    t.equal(noNode.stderr.trim().split('\n').filter((l) => l.startsWith('faassctl')).length, 1, `in one line: ${noNode.stderr}`);
    const noPython = await sb.faassctl('image', 'fpy', '--base', BUSYBOX);
    t.match(noPython.stderr, /has no node 20 or later/, 'python on a base without node: node is missed first');
    // The engine unreachable: another socket in faass.conf.
    const conf = path.join(String(sb.env.XDG_CONFIG_HOME), 'faass', 'faass.conf');
    const was = fs.readFileSync(conf, 'utf8');
    fs.writeFileSync(conf, was.replace(`unix://${engine.socket}`, `unix://${sb.dir}/no-engine.sock`));
    try {
      const off = await sb.faassctl('image', 'fexec', '--base', base);
      t.equal(off.code, 5, 'the engine unreachable: exit 5');
      t.match(off.stderr, /Docker engine at unix:\/\/.*no-engine\.sock is not reachable/);
    } finally {
      fs.writeFileSync(conf, was);
    }
  });
});

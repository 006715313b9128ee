// faassctl image's server side and build context, against the local gateway's behaviour: the
// gateway's own timeout, the console's session cookie and X-CSRF-Token, the function's symlinks
// (never followed into the image) and the context's modes (nothing writable by the runner).
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { handler } from '../../src/image/serve';
import { writeContext } from '../../src/image/context';
import { contextTar, contextFiles } from '../../src/docker/image-build';
import { functionConfPath, functionCodeDir, resolvePaths } from '../../src/core/paths';
import { loadSettings } from '../../src/core/settings';
import { Lifecycle } from '../../src/systemd/activation';
import type { CallInput } from '../../src/runner/runner';
import type { CallResult } from '../../src/runner/call';
import * as tar from 'tar';
import { ROOT } from '../support/root';

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

// The image's handler on a loopback port, with a runner that answers as `run` says.
async function serveWith(t: Test, run: (i: CallInput) => Promise<CallResult>, gw: { maxBody: number; timeout: number }): Promise<number> {
  const cfg = buildFunctionConfig('fn', { runtime: 'exec', command: 'cat', timeout: 30 });
  const server = http.createServer(handler(cfg, { run }, gw, new Lifecycle({ name: 'fn', idleSeconds: 0, drainSeconds: 1, onExit: async () => undefined })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as { port: number }).port;
}

function get(port: number, headers: Record<string, string> = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/x?q=1', agent: false, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject);
  });
}

t.test("the gateway's own timeout, where shorter than the function's, ends the call as on the host", async (t) => {
  // The function answers well within its own 30 s, but past the gateway's 1 s.
  const port = await serveWith(t, () => new Promise((r) => setTimeout(() => r({ status: 200, headers: {}, body: Buffer.from('late') }), 4000)), { maxBody: 1024, timeout: 1 });
  const got = await get(port);
  t.equal(got.status, 504, 'the gateway timeout: 504');
  t.same(JSON.parse(got.body).error?.code ?? JSON.parse(got.body).code, 'FAASS_E_GATEWAY_TIMEOUT', got.body);
  t.match(got.body, 'Function fn did not answer within 1s', "the gateway's own message");
});

t.test("the console's session cookie and CSRF token: never to the function, never from it", async (t) => {
  let seen: Record<string, string> = {};
  const port = await serveWith(
    t,
    async (i) => {
      seen = i.headers;
      return { status: 200, headers: { 'set-cookie': 'faass_session=forged; Path=/' }, body: Buffer.from('ok') };
    },
    { maxBody: 1024, timeout: 5 },
  );
  const got = await get(port, { cookie: 'faass_session=abc; theme=dark', 'x-csrf-token': 'tok' });
  t.equal(got.status, 200);
  t.equal(seen.cookie, 'theme=dark', "the function sees the client's other cookies only");
  t.notOk('x-csrf-token' in seen, 'nor X-CSRF-Token');
  t.notOk(got.headers['set-cookie'], `the function cannot set the session cookie (${String(got.headers['set-cookie'])})`);
  t.equal(seen['x-forwarded-for'], '127.0.0.1', 'X-Forwarded-For added');
});

t.test("the function's symlinks are not followed into the build context", async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-image-ctx-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const paths = resolvePaths({ HOME: root, XDG_CONFIG_HOME: path.join(root, 'config'), XDG_DATA_HOME: path.join(root, 'data') });
  const MARK = 'outside-secret-4e1b9a';
  fs.mkdirSync(path.join(root, 'outside'));
  fs.writeFileSync(path.join(root, 'outside', 'creds'), MARK);
  const cfg = buildFunctionConfig('fn', { runtime: 'node', file: 'handler.js' });
  fs.mkdirSync(path.dirname(functionConfPath(paths, 'fn')), { recursive: true });
  fs.writeFileSync(functionConfPath(paths, 'fn'), '[function]\nruntime = node\nfile = handler.js\n');
  const code = functionCodeDir(paths, 'fn');
  fs.mkdirSync(code, { recursive: true });
  fs.writeFileSync(path.join(code, 'handler.js'), 'module.exports = () => "hi"\n');
  fs.symlinkSync(path.join(root, 'outside', 'creds'), path.join(code, 'file-link'));
  fs.symlinkSync(path.join(root, 'outside'), path.join(code, 'dir-link'));
  fs.symlinkSync('../../../../outside/creds', path.join(code, 'relative-link'));
  fs.symlinkSync('handler.js', path.join(code, 'inner-link'));
  // faass's own secrets beside it: a secret's value, a NATS bridge's, faass.conf's TLS key path.
  for (const f of ['secrets/tok', 'nats/fn/1.secret', 'tls/key.pem']) {
    fs.mkdirSync(path.dirname(path.join(paths.configDir, f)), { recursive: true });
    fs.writeFileSync(path.join(paths.configDir, f), `${MARK} in ${f}`);
  }
  fs.writeFileSync(path.join(paths.configDir, 'faass.conf'), `# ${MARK}\n[gateway]\ntimeout = 7\nheaders_timeout = 3\n`);
  fs.symlinkSync(paths.configDir, path.join(code, 'faass-config'));
  const dir = writeContext({ paths, cfg, gw: loadSettings(paths), base: 'b', root: ROOT });
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Every regular file of the context, links not followed (as the engine's tar takes them).
  const files = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(d, e.name)) : e.isFile() ? [path.join(d, e.name)] : []));
  const holding = files(dir).filter((f) => fs.readFileSync(f, 'latin1').includes(MARK));
  t.same(holding, [], 'no file of the context holds a secret of faass or anything outside the code');
  const conf = fs.readFileSync(path.join(dir, 'config', 'faass', 'faass.conf'), 'utf8');
  t.match(conf, /^timeout = 7$/m, "the gateway's timeout goes in, as it is when the image is built");
  t.match(conf, /^headers_timeout = 3$/m, 'and its headers_timeout (the image answers 408 past it, as the gateway does)');
  const inCtx = path.join(dir, 'data', 'faass', 'functions', 'fn');
  t.ok(fs.existsSync(path.join(inCtx, 'handler.js')), 'the code is there');
  for (const l of ['file-link', 'dir-link', 'relative-link', 'inner-link']) t.ok(fs.lstatSync(path.join(inCtx, l)).isSymbolicLink(), `${l} stays a link`);
  t.equal(fs.readlinkSync(path.join(inCtx, 'inner-link')), 'handler.js', 'as it was written (a link within the code still works)');
  const tarred: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const parser = new tar.Parser({
      onReadEntry: (e) => {
        tarred.push(`${e.path} ${e.type}`);
        e.on('data', (d: Buffer) => (d.toString('latin1').includes(MARK) ? tarred.push('MARK') : 0));
      },
    });
    parser.on('end', resolve).on('error', reject);
    contextTar(dir, contextFiles(dir)).pipe(parser as unknown as NodeJS.WritableStream);
  });
  t.notOk(tarred.includes('MARK'), "the outside file's content is nowhere in what the engine gets");
  t.notOk(tarred.some((e) => e.includes('dir-link/')), 'nothing under the linked directory');
});

// A guard, not a fix: node-tar's pack already masks group and other write (its umask 022) on
// top of contextTar's added read bits; this says the image's runner relies on it.
t.test("the context's files: readable by the image's user, writable by none but root", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-image-modes-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'open.js'), 'x');
  fs.chmodSync(path.join(dir, 'open.js'), 0o666);
  fs.writeFileSync(path.join(dir, 'private.js'), 'x');
  fs.chmodSync(path.join(dir, 'private.js'), 0o600);
  fs.writeFileSync(path.join(dir, 'tool'), 'x');
  fs.chmodSync(path.join(dir, 'tool'), 0o777);
  const modes: Record<string, number> = {};
  await new Promise<void>((resolve, reject) => {
    const parser = new tar.Parser({ onReadEntry: (e) => ((modes[e.path] = (e.mode ?? 0) & 0o777), e.resume()) });
    parser.on('end', resolve).on('error', reject);
    contextTar(dir, ['open.js', 'private.js', 'tool']).pipe(parser as unknown as NodeJS.WritableStream);
  });
  t.equal(modes['open.js'].toString(8), '644', 'a world-writable file: 0644');
  t.equal(modes['private.js'].toString(8), '644', 'a private one: readable');
  t.equal(modes['tool'].toString(8), '755', 'an executable: 0755');
});

// The gateway's API proxy with a stream answer (a log tail's NDJSON): passed on as it comes, with
// no idle timeout between its lines (a JSON answer keeps it), and the request to the API ended
// when the client goes away.
import t from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { AddressInfo } from 'node:net';
import { ApiProxy } from '../../src/gateway/api-proxy';
import { resolvePaths } from '../../src/core/paths';

t.test('a stream through the API proxy', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-proxy-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const paths = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: dir, XDG_STATE_HOME: dir, XDG_DATA_HOME: dir, XDG_RUNTIME_DIR: dir });
  // A stand-in for faass-api: a line, a quiet second, a line; /open never ends by itself.
  let openClosed: () => void = () => undefined;
  const closed = new Promise<void>((r) => (openClosed = r));
  const api = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': req.url === '/json' ? 'application/json' : 'application/x-ndjson' });
    res.write('{"n":1}\n');
    if (req.url === '/open') return void req.on('close', openClosed);
    setTimeout(() => res.end('{"n":2}\n'), 1000);
  });
  fs.mkdirSync(paths.runtimeDir, { recursive: true });
  await new Promise<void>((r) => api.listen(path.join(paths.runtimeDir, 'api.sock'), r));
  t.teardown(() => api.close());
  // The proxy's timeout is the gateway's call timeout + 120 s: here 0.3 s, shorter than the quiet second.
  const proxy = new ApiProxy(paths, 1024, 0.3 - 120);
  const gw = http.createServer((req, res) => proxy.forward(req, Buffer.alloc(0), res, null));
  await new Promise<void>((r) => gw.listen(0, '127.0.0.1', r));
  t.teardown(() => gw.close());
  const port = (gw.address() as AddressInfo).port;
  // An answer as the client got it: its body, and whether it ended whole (its last chunk came).
  const get = (p: string) =>
    new Promise<{ body: string; whole: boolean }>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
        const out = { body: '', whole: false };
        res.setEncoding('utf8');
        res.on('data', (d: string) => (out.body += d));
        res.on('end', () => (out.whole = true));
        res.on('close', () => resolve(out));
        res.on('error', () => undefined);
      });
      req.on('error', () => undefined);
    });
  const stream = await get('/stream');
  t.equal(stream.body, '{"n":1}\n{"n":2}\n', 'NDJSON: both lines, across a quiet second longer than the timeout');
  t.ok(stream.whole, 'and the answer ended whole');
  const json = await get('/json');
  t.equal(json.body, '{"n":1}\n', 'a JSON answer quiet for longer than the timeout is cut (the timeout is real)');
  t.notOk(json.whole);
  // The client goes away: the request to the API ends with it.
  const req = http.get({ host: '127.0.0.1', port, path: '/open', agent: false }, (res) => res.once('data', () => req.destroy()));
  req.on('error', () => undefined);
  await closed;
  t.pass('the API saw its request closed once the client went away');
});

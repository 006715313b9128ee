// A call sent to a canary that never took it goes to the function's own runner
// (src/gateway/runner-forward.ts), which gets the same second chance a call with no canary gets:
// a fresh connection. Against a fake runner on a unix socket, as rpc-client.test.ts.
import t from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { functionSocketPath, resolvePaths } from '../../src/core/paths';
import { FrameDecoder, RpcRequestMeta, encodeAck, encodeFrame } from '../../src/core/rpc';
import { RunnerForwarder } from '../../src/gateway/runner-forward';
import type { CanaryPick } from '../../src/gateway/canaries';

t.test("a call the canary never took is answered by the function's runner, even when its pooled connection is closing", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-canary-forward-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const paths = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: `${dir}/config`, XDG_DATA_HOME: `${dir}/data`, XDG_STATE_HOME: `${dir}/state`, XDG_RUNTIME_DIR: `${dir}/run` });
  const own = functionSocketPath(paths, 'f');
  fs.mkdirSync(path.dirname(own), { recursive: true });
  // The function's runner: its first connection takes one call, then drains (closes at the next
  // frame, unacknowledged: that call never ran); a new connection is served by the next runner.
  let connections = 0;
  const runner = net.createServer((conn) => {
    const n = ++connections;
    let calls = 0;
    const decoder = new FrameDecoder<RpcRequestMeta>(true);
    conn.on('error', () => undefined);
    conn.on('data', (d: Buffer) => {
      for (const f of decoder.push(d)) {
        if (n === 1 && ++calls > 1) return void conn.destroy();
        conn.write(Buffer.concat([encodeAck(f.id), encodeFrame(f.id, { s: 200, h: { 'x-faass-version': '1' } }, Buffer.from(`own ${n}`))]));
      }
    });
  });
  await new Promise<void>((ok) => runner.listen(own, ok));
  t.teardown(() => runner.close());
  const fwd = new RunnerForwarder(paths, 10);
  t.teardown(() => fwd.close());
  // The canary's socket is gone (a promote or an abort removed it): it never takes the call.
  const canary = (): CanaryPick => ({ socket: path.join(dir, 'run', 'canary', 'f.sock'), version: 2, done: () => undefined });
  let toCanary = false;
  const gw = http.createServer((req, res) => {
    req.resume();
    void fwd.forward({ id: 'c', name: 'f', method: 'GET', path: '/', headers: {}, body: Buffer.alloc(0) }, res, toCanary ? canary() : null);
  });
  await new Promise<void>((ok) => gw.listen(0, '127.0.0.1', ok));
  t.teardown(() => gw.close());
  const get = () =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      http.get({ port: (gw.address() as AddressInfo).port, host: '127.0.0.1', path: '/', agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });
  t.same(await get(), { status: 200, body: 'own 1' }, 'a call to the function: its connection pooled');
  toCanary = true;
  t.same(await get(), { status: 200, body: 'own 2' }, 'the next, meant for the canary, is answered by the function on a fresh connection');
});

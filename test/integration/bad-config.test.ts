// A malformed faass.conf or function file under load: the gateway still starts and answers 503
// with the reason, the sockets keep listening, and fixing the file is all it takes to serve again
// (issue 11 item 7: before, the gateway crash-looped into start-limit-hit and its socket stayed
// failed, every connection refused, until someone ran systemctl reset-failed).
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startSandbox, setupGateway, request, load, waitFor, unitState, errorCode } from '../support/sandbox';

const message = (body: string): string => (JSON.parse(body) as { error: { message: string } }).error.message;

t.test('bad configuration files', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 1);
  const cfgDir = path.join(sb.env.XDG_CONFIG_HOME as string, 'faass');
  const conf = path.join(cfgDir, 'faass.conf');
  t.equal((await sb.faassctl('deploy', 'cat', '--command', 'cat', '--idle', '1')).code, 0, 'deploy cat');
  t.equal((await sb.faassctl('deploy', 'other', '--command', 'cat', '--idle', '1', '--env', 'TOKEN=hunter2-secret')).code, 0, 'deploy other, with a secret');
  t.equal((await request(sb.port, '/function/cat', { body: 'hi' })).body, 'hi', 'served before');

  t.test('a malformed faass.conf under load: 503 with the reason, then served again once fixed', async (t) => {
    const good = fs.readFileSync(conf, 'utf8');
    t.teardown(() => fs.writeFileSync(conf, good));
    fs.writeFileSync(conf, good.replace('[gateway]\n', '[gateway]\ntimeout=soon\n'));
    await sb.systemctl('stop', 'faass-gateway.service'); // the next connection starts a gateway that reads the bad file
    const bad = (r: { status: number; body: string }) => r.status === 503 && errorCode(r.body) === 'FAASS_E_CONFIG_BROKEN';
    const result = await load(sb.port, '/function/cat', 600, 30, bad);
    t.same(result.failures.slice(0, 5), [], `all ${result.sent} calls answered 503 FAASS_E_CONFIG_BROKEN, none refused`);
    const one = await request(sb.port, '/healthz', { method: 'GET' });
    t.equal(one.status, 503, 'the health check says so too');
    t.match(message(one.body), new RegExp(`^${conf.replace(/[.]/g, '\\.')}: Invalid timeout "soon": expected seconds or a time span`), 'the message names the file and what is wrong');
    t.match(await unitState(sb, 'faass-gateway.socket'), /^active\/(running|listening)$/, 'the socket is taken, not failed');
    fs.writeFileSync(conf, good);
    await waitFor('a call served with the fixed file', async () => (await request(sb.port, '/function/cat', { body: 'x' })).status === 200);
    const after = await load(sb.port, '/function/cat', 200, 20);
    t.same(after.failures.slice(0, 5), [], 'the fixed file serves: every call 200, with no reset-failed');
    t.match(await unitState(sb, 'faass-gateway.socket'), /^active\/(running|listening)$/, 'the socket still listens');
    t.equal((await sb.systemctl('show', 'faass-gateway.service', '--property=Result', '--value')).stdout.trim(), 'success', 'the gateway never failed');
  });

  t.test('one bad function file: that function 503 with the reason, the others served', async (t) => {
    const file = path.join(cfgDir, 'functions', 'other.conf');
    const good = fs.readFileSync(file, 'utf8');
    t.teardown(() => fs.writeFileSync(file, good));
    fs.writeFileSync(file, good.replace('TOKEN=hunter2-secret', 'TOKEN=hunter2-secret\nBAD-NAME=hunter2-again'));
    const r = await request(sb.port, '/function/other', { body: 'x' });
    t.equal(r.status, 503);
    t.equal(errorCode(r.body), 'FAASS_E_CONFIG_BROKEN');
    t.equal(message(r.body), `${file}: Invalid environment variable name "BAD-NAME"`, 'names the file and what is wrong');
    t.notMatch(r.body, /hunter2/, 'no value of its environment');
    const others = await load(sb.port, '/function/cat', 200, 20);
    t.same(others.failures.slice(0, 5), [], 'another function: every call 200');
    fs.writeFileSync(file, good);
    t.equal((await request(sb.port, '/function/other', { body: 'y' })).body, 'y', 'fixed: served at once');
  });

  t.test('faassctl refuses to write a bad faass.conf, and leaves the old one as it was', async (t) => {
    const before = fs.statSync(conf);
    const text = fs.readFileSync(conf, 'utf8');
    for (const args of [['init', '--listen', 'nowhere'], ['init', '--docker-host', 'tcp://127.0.0.1:2375']]) {
      const r = await sb.faassctl(...args);
      t.equal(r.code, 2, `faassctl ${args.join(' ')} exits 2`);
      t.match(r.stderr, /FAASS_E_CONFIG_INVALID/);
    }
    t.equal(fs.readFileSync(conf, 'utf8'), text, 'the same text');
    t.equal(fs.statSync(conf).ino, before.ino, 'the same file: never replaced, not even for a moment');
  });
});

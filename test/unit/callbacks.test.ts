// Callbacks of asynchronous calls (issue 13): the allow-list (CIDR ranges, v4 and v6), the
// URLs refused, what a callback carries, and its delivery by the dispatcher in-process (a fake
// function, a real local receiver).
import t from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { AddressInfo } from 'node:net';
import { allowedAddress, parseCidrList, addressBytes } from '../../src/core/cidr';
import { checkCallbackUrl, mayPassLater, Resolver } from '../../src/queue/callback-url';
import { buildAsyncSettings, readSettingsIni, writeSettings, loadAsyncSettings } from '../../src/core/settings';
import { callbackHeaders, PendingCallback, queueCallback } from '../../src/queue/callback';
import { flushQueueCounters } from '../../src/queue/counters';
import { readMetrics } from '../../src/observe/metrics-store';
import { Dispatcher } from '../../src/queue/dispatcher';
import { enqueue, redrive, rung, sweepTemporary } from '../../src/queue/spool';
import { callStatus } from '../../src/queue/status';
import { Paths, gatewayConfPath, resolvePaths } from '../../src/core/paths';
import { FaassError } from '../../src/core/errors';
import { Outcome } from '../../src/queue/retry';
import { reopenQueue, settleQueue } from '../../src/queue/on-delete';

const LOOPBACK = parseCidrList('callback_allow', '127.0.0.0/8 ::1/128');
const refusal = (p: Promise<unknown>) => p.then(() => null, (e: FaassError) => e);

t.test('address ranges: IPv4, IPv6, IPv4-mapped, and what is no range', async (t) => {
  t.ok(allowedAddress(LOOPBACK, '127.0.0.1') && allowedAddress(LOOPBACK, '127.255.1.2'), '127.0.0.0/8 holds 127.x.y.z');
  t.notOk(allowedAddress(LOOPBACK, '128.0.0.1'), 'and not 128.0.0.1');
  t.ok(allowedAddress(LOOPBACK, '::1'), '::1/128 holds ::1');
  t.notOk(allowedAddress(LOOPBACK, '::2'), 'and nothing else');
  t.ok(allowedAddress(LOOPBACK, '::ffff:127.0.0.1') && allowedAddress(LOOPBACK, '::ffff:7f00:1'), 'an IPv4-mapped address is its IPv4 address');
  t.notOk(allowedAddress(LOOPBACK, '::ffff:10.0.0.1'), 'so it is no way around an IPv4 range');
  const lan = parseCidrList('callback_allow', '10.1.0.0/16, fd00::/8 192.0.2.7');
  t.ok(allowedAddress(lan, '10.1.255.1') && !allowedAddress(lan, '10.2.0.1'), '/16');
  t.ok(allowedAddress(lan, 'fd12:3456::1') && !allowedAddress(lan, 'fe80::1'), 'fd00::/8');
  t.ok(allowedAddress(lan, '192.0.2.7') && !allowedAddress(lan, '192.0.2.8'), 'a bare address is itself alone');
  t.ok(allowedAddress(parseCidrList('k', '0.0.0.0/0'), '203.0.113.9'), '/0: every IPv4 address');
  t.notOk(allowedAddress(parseCidrList('k', '0.0.0.0/0'), '2001:db8::1'), 'but no IPv6 one');
  t.ok(allowedAddress(parseCidrList('k', '::ffff:127.0.0.0/104'), '127.0.0.9'), 'an IPv4-mapped range is an IPv4 range');
  t.same(parseCidrList('k', ''), [], 'empty: nothing allowed');
  t.notOk(allowedAddress([], '127.0.0.1'), 'and nothing is');
  t.same([...(addressBytes('1:2::3:4') ?? [])], [0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 4], ':: expands to the zero groups');
  t.equal(addressBytes('fe80::1%eth0'), null, 'a zone id is refused');
  for (const bad of ['127.0.0.0/33', '::1/129', '127.0.0.1/8/1', 'localhost/8', '10.0.0.0/x', '300.0.0.0/8', '::ffff:0.0.0.0/64']) {
    t.throws(() => parseCidrList('callback_allow', bad), { code: 'FAASS_E_CONFIG_INVALID', message: /Invalid callback_allow range/ }, `${bad}: refused`);
  }
});

t.test('callback URLs: only http(s), no user info, every address inside the allow-list', async (t) => {
  const ok = await checkCallbackUrl('http://127.0.0.1:8081/done?token=s3cret', LOOPBACK);
  t.match(ok, { address: '127.0.0.1', family: 4 }, 'a loopback address: allowed, and the address to connect to');
  t.match(await checkCallbackUrl('https://[::1]/x', LOOPBACK), { address: '::1', family: 6 }, 'an IPv6 literal');
  for (const [url, why] of [
    ['http://192.0.2.1/hook', /192\.0\.2\.1 is outside faass\.conf \[async\] callback_allow \(127\.0\.0\.0\/8 ::1\/128\)/],
    ['http://[::ffff:10.0.0.1]/', /outside/],
    ['ftp://127.0.0.1/x', /scheme "ftp" \(only http and https\)/],
    ['file:///etc/passwd', /scheme "file"/],
    ['http://user:pw@127.0.0.1/', /a user name or password in the URL/],
    ['http://:pw@127.0.0.1/', /a user name or password/],
    ['not a url', /not a URL/],
    ['http://', /not a URL/],
    [`http://127.0.0.1/${'a'.repeat(3000)}`, /longer than 2048/],
  ] as const) {
    const e = await refusal(checkCallbackUrl(url, LOOPBACK));
    t.equal(e?.code, 'FAASS_E_CALLBACK_REFUSED', `${url.slice(0, 40)}: refused`);
    t.match(e?.message, why);
  }
  const secret = await refusal(checkCallbackUrl('http://192.0.2.1/hook?token=s3cret', LOOPBACK));
  t.notMatch(secret?.message, /s3cret|hook/, "the message names the host, never the URL's path or query");
  t.match((await refusal(checkCallbackUrl('http://127.0.0.1/', [])))?.message, /empty: callbacks go nowhere/, 'an empty allow-list refuses every URL');

  // Names: every address they resolve to is checked (a resolver of the test's own).
  const names: Record<string, string[]> = { both: ['127.0.0.1', '::1'], mixed: ['127.0.0.1', '192.0.2.1'] };
  const resolve: Resolver = async (host) => {
    if (!names[host]) throw Object.assign(new Error('no such host'), { code: 'ENOTFOUND' });
    return names[host].map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  t.match(await checkCallbackUrl('http://both:9/', LOOPBACK, resolve), { address: '127.0.0.1' }, 'a name whose addresses are all inside: allowed, its first address used');
  t.match((await refusal(checkCallbackUrl('http://mixed/', LOOPBACK, resolve)))?.message, /host mixed resolves to 192\.0\.2\.1, which is outside/, 'one address outside: refused');
  const gone = await refusal(checkCallbackUrl('http://nowhere/', LOOPBACK, resolve));
  t.match(gone?.message, /host nowhere does not resolve \(ENOTFOUND\)/, 'a name that does not resolve: refused');
  t.ok(mayPassLater(gone) && !mayPassLater(secret), 'and at send time, unlike an address outside, it may pass later');
  const everything = [...LOOPBACK, ...parseCidrList('t', '0.0.0.0/0 ::/0')];
  for (const url of ['http://0.0.0.0:9000/', 'http://[::]:9000/', 'http://[::ffff:0.0.0.0]:9000/', 'http://0:9000/']) {
    t.match((await refusal(checkCallbackUrl(url, everything)))?.message, /is the unspecified address/, `${url}: never, even with an allow-list that holds it`);
  }
  const zeroes: Resolver = async () => [{ address: '0.0.0.0', family: 4 }];
  t.match((await refusal(checkCallbackUrl('http://anywhere:9000/', everything, zeroes)))?.message, /host anywhere resolves to 0\.0\.0\.0, which is the unspecified address/, 'nor a name that resolves to it');
  t.match((await refusal(checkCallbackUrl('http://127.0.0.1:8080/async-function/f', LOOPBACK, undefined, [8080, 8443])))?.message, /port 8080 is faass's gateway's own/, "the gateway's own port: never (no loops through the gateway)");
  t.match((await refusal(checkCallbackUrl('https://localhost/x', LOOPBACK, async () => [{ address: '127.0.0.1', family: 4 }], [443])))?.message, /port 443 is faass's gateway's own/, 'its HTTPS port too, when the URL names none');
  t.match(await checkCallbackUrl('http://127.0.0.1:8081/', LOOPBACK, undefined, [8080, 8443]), { address: '127.0.0.1' }, 'another port of the same address: allowed');
});

t.test('faass.conf [async] callback_allow: loopback by default, kept when other commands write the file', async (t) => {
  t.same(buildAsyncSettings({}).callbackAllow.map((r) => r.text), ['127.0.0.0/8', '::1/128'], 'default: loopback only');
  t.same(loadAsyncSettings(resolvePaths({ HOME: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent' })).gatewayPorts, [8080], "the gateway's port, from faass.conf (its default without one)");
  t.same(buildAsyncSettings({ callback_allow: '' }).callbackAllow, [], 'empty: nowhere');
  t.throws(() => buildAsyncSettings({ callback_allow: '10.0.0.0/40' }), { code: 'FAASS_E_CONFIG_INVALID' });
  t.throws(() => buildAsyncSettings({ callback_allowed: '10.0.0.0/8' }), { message: /Unknown key "callback_allowed" in \[async\]; known keys: callback_allow/ });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-cb-conf-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: dir, XDG_STATE_HOME: dir });
  fs.mkdirSync(path.dirname(gatewayConfPath(p)), { recursive: true });
  fs.writeFileSync(gatewayConfPath(p), '[gateway]\nidle = 5\n[async]\ncallback_allow = 10.0.0.0/8 ::1\n');
  t.same(loadAsyncSettings(p).callbackAllow.map((r) => r.text), ['10.0.0.0/8', '::1']);
  writeSettings(p, { ...readSettingsIni(p), idle: '7' }, {});
  t.match(fs.readFileSync(gatewayConfPath(p), 'utf8'), /\[async\]\ncallback_allow=10\.0\.0\.0\/8 ::1\n/, 'faassctl init and tls keep the [async] section');
  fs.writeFileSync(gatewayConfPath(p), '[async]\ncallback_allow = 127.0.0.1/99\n');
  t.throws(() => loadAsyncSettings(p), { code: 'FAASS_E_CONFIG_BROKEN' }, 'a broken file: callbacks go nowhere (fail closed)');
});

t.test("a callback's headers: the function's safe ones, then faass's, which no function can forge", async (t) => {
  const cb: PendingCallback = {
    id: 'c0ffee00-0000-4000-8000-00000000000a',
    name: 'fn',
    url: 'http://127.0.0.1/',
    createdAt: 1,
    final: 'dead',
    deadWhy: '3 attempts failed',
    status: 500,
    attempts: 3,
    headers: { 'content-type': 'text/plain', 'x-own': 'kept', 'x-function-status': '200', 'x-faass-call-state': 'done', 'x-faass-whatever': '1', 'transfer-encoding': 'chunked', connection: 'x-drop', 'x-drop': '1', 'set-cookie': 'a=b', 'x-call-id': 'forged', 'content-length': '99' },
    truncated: true,
    body: Buffer.from('oops'),
  };
  t.same(callbackHeaders(cb), {
    'content-type': 'text/plain',
    'x-own': 'kept',
    'x-call-id': cb.id,
    'x-function-name': 'fn',
    'x-faass-attempts': '3',
    'x-faass-call-state': 'dead',
    'content-length': '4',
    'x-function-status': '500',
    'x-faass-dead-reason': '3 attempts failed',
    'x-faass-body-truncated': 'true',
  });
});

// A receiver on 127.0.0.1 that answers each request with the next status of `script` (then 200).
async function receiver(t: { teardown(f: () => unknown): void }, script: number[] = []): Promise<{ url: string; got: { headers: http.IncomingHttpHeaders; body: string; url: string }[] }> {
  const got: { headers: http.IncomingHttpHeaders; body: string; url: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString(), url: req.url ?? '' });
      res.writeHead(script.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

function spoolDir(t: { teardown(f: () => unknown): void }): Paths {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-cb-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return resolvePaths({ HOME: dir, XDG_CONFIG_HOME: dir, XDG_STATE_HOME: dir, XDG_DATA_HOME: dir, XDG_RUNTIME_DIR: dir });
}

const answer = (status: number, body: string): Outcome => ({ status, answer: { headers: { 'content-type': 'text/plain' }, body: Buffer.from(body), truncated: false } });
const queued = (id: string, url: string) => ({ id: `c0ffee00-0000-4000-8000-00000000000${id}`, name: 'fn', method: 'POST', path: '/', headers: {}, enqueuedAt: Date.now(), body: Buffer.from(`body ${id}`), callback: url });

t.test('the dispatcher posts each result once, again after a 500, and records it', async (t) => {
  const p = spoolDir(t);
  const rx = await receiver(t, [500]);
  const a = queued('1', `${rx.url}/cb?k=1`);
  await enqueue(p, a, 10);
  await new Dispatcher(p, async (_p, call) => answer(201, `answer to ${call.body.toString()}`)).run();
  t.equal(rx.got.length, 2, 'the first answered 500, so it came again; the dispatcher ran until it was delivered');
  const last = rx.got[1];
  t.equal(last.url, '/cb?k=1', 'to its path and query');
  t.match(last.headers, { 'x-call-id': a.id, 'x-function-status': '201', 'x-faass-attempts': '1', 'x-faass-call-state': 'done', 'content-type': 'text/plain' });
  t.equal(last.body, 'answer to body 1', "the function's answer as body");
  const s = await callStatus(p, a.id);
  t.match(s?.callback, { state: 'delivered', status: 200, to: rx.url, attempts: [{ n: 1, status: 500 }, { n: 2, status: 200 }] }, 'its status says delivered, with its attempts');
  t.same(await rung(p), [], 'and the doorbell is silent');
});

t.test('a dead call gets a callback saying so; one that cannot be delivered is recorded failed and counted', async (t) => {
  const p = spoolDir(t);
  const rx = await receiver(t);
  const dead = queued('2', `${rx.url}/dead`);
  await enqueue(p, dead, 10);
  fs.mkdirSync(path.join(p.stateDir, 'queue', 'fn'), { recursive: true });
  await new Dispatcher(p, async () => ({ error: 'ECONNRESET on the function\'s socket' })).run();
  t.equal(rx.got.length, 1, 'one callback');
  t.match(rx.got[0].headers, { 'x-faass-call-state': 'dead', 'x-faass-attempts': '3', 'x-faass-dead-reason': '3 attempts failed', 'x-faass-error': "ECONNRESET on the function's socket" });
  t.notOk('x-function-status' in rx.got[0].headers, 'no status: the function never answered');

  const outside = queued('3', 'http://192.0.2.1/hook');
  await enqueue(p, outside, 10); // queued straight to the spool: the allow-list at send time
  await new Dispatcher(p, async () => answer(200, 'ok')).run();
  const s = await callStatus(p, outside.id);
  t.match(s?.callback, { state: 'failed', why: /^refused at send: X-Callback-Url refused: 192\.0\.2\.1 is outside/ }, 'refused at send: failed, at once, and why');
  flushQueueCounters();
  t.same(readMetrics(p).callbackFailures, { fn: 1 }, 'counted for the metrics');
});

// What the review found.

// Polls for the event (a receiver's request, a file) on a shared machine: a generous bound.
async function waitUntil(cond: () => boolean, ms = 60_000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('deleting a function whose callbacks wait to be sent: refused unless told, drained, or discarded and counted', async (t) => {
  const p = spoolDir(t);
  const rx = await receiver(t, [503]); // the first attempt fails: the callback waits for its retry
  const a = queued('4', `${rx.url}/cb`);
  await enqueue(p, a, 10);
  // The dispatcher delivers the call; its callback fails once and is pending when this stops it.
  const d = new Dispatcher(p, async () => answer(200, 'ok'));
  const running = d.run();
  await waitUntil(() => rx.got.length === 1);
  d.stop();
  await running;
  t.equal((await callStatus(p, a.id))?.callback?.state, 'pending', 'the call is done, its callback pending');
  const refused = await settleQueue(p, 'fn', 'refuse').then(() => null, (e: FaassError) => e);
  t.equal(refused?.code, 'FAASS_E_QUEUE_NOT_EMPTY', 'a delete is refused: the callback would be lost without a word');
  t.match(refused?.message, /fn has 0 queued call\(s\), 1 callback\(s\) waiting to be sent and 0 dead letter\(s\): delete it with --drain .* or --discard/);
  t.ok(fs.existsSync(path.join(p.stateDir, 'queue', 'fn', 'callbacks', `${a.id}.cb`)), 'and the callback is still there');

  // --drain waits for it to be sent (the dispatcher, started again, sends it meanwhile).
  const again = new Dispatcher(p, async () => answer(200, 'ok')).run();
  t.same(await settleQueue(p, 'fn', 'drain', 30_000), { discarded: 0, dead: 0, callbacks: 0 }, 'drained: sent before the delete goes on');
  await again;
  t.equal(rx.got.length, 2, 'the receiver got it');
  await reopenQueue(p, 'fn');

  // --discard drops it, and says so.
  const b = queued('5', `${rx.url}/cb`);
  await queueCallback(p, b, { attempts: [{ n: 1, startedAt: Date.now(), endedAt: Date.now(), status: 200 }], nextAt: 0 }, answer(200, 'ok'));
  t.same(await settleQueue(p, 'fn', 'discard'), { discarded: 0, dead: 0, callbacks: 1 }, 'discard: the callback dropped, and counted');
});

t.test("a redriven call's new result gets its own callback, even while the old result's is in flight", async (t) => {
  const p = spoolDir(t);
  // The receiver holds the first callback (the dead result's) until told; then answers 200.
  const got: { state: string | undefined }[] = [];
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      got.push({ state: req.headers['x-faass-call-state'] as string | undefined });
      if (got.length === 1) void held.then(() => res.writeHead(200).end());
      else res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => server.close(r)));
  const a = queued('6', `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`);
  await enqueue(p, a, 10);
  let broken = true; // the function fails until it is fixed, then answers
  const running = new Dispatcher(p, async () => (broken ? { error: 'ECONNRESET' } : answer(200, 'fixed'))).run();
  // Dead, and its callback in flight: the callback is written before the call is buried and may
  // reach the receiver first, so wait for the burial too (redrive takes only a buried call).
  const buried = () => fs.readdirSync(path.join(p.stateDir, 'queue', 'fn', 'dead'), { withFileTypes: true }).some((d) => d.name.includes(a.id) && d.name.endsWith('.call'));
  await waitUntil(() => got.length === 1 && fs.existsSync(path.join(p.stateDir, 'queue', 'fn', 'dead')) && buried());
  broken = false;
  t.same((await redrive(p, 'fn', [a.id])).done, [a.id], 'redriven');
  // The dead result's callback is answered once the new result is recorded. Before the fix that
  // came at once, and the old attempt's end then removed the new result's file: never sent. Now
  // the new result waits for the old attempt to end (here by its 10 s timeout, as with a
  // receiver that hangs), and only then is written.
  await waitUntil(() => fs.existsSync(path.join(p.stateDir, 'queue', 'fn', 'done', `${a.id}.json`)));
  t.equal((await callStatus(p, a.id))?.state, 'done', 'the redriven call is done');
  release();
  await running;
  t.same(
    got.map((g) => g.state),
    ['dead', 'done'],
    'the receiver heard of both results: the new one was not taken for the old one sent',
  );
  t.match((await callStatus(p, a.id))?.callback, { state: 'delivered', attempts: [{ n: 1, status: 200 }] }, "and the call's status is the new callback's, its attempts its own");
});

t.test("a dispatcher killed while writing a callback's file leaves no temporary file there for good", async (t) => {
  const p = spoolDir(t);
  const outbox = path.join(p.stateDir, 'queue', 'fn', 'callbacks');
  fs.mkdirSync(path.join(outbox, 'done'), { recursive: true });
  // What writeDurably leaves when killed between its write and its rename, two hours ago.
  const stale = [path.join(outbox, '.c0ffee00-0000-4000-8000-000000000007.cb.123.abcdef.tmp'), path.join(outbox, 'done', '.c0ffee00-0000-4000-8000-000000000007.json.123.abcdef.tmp')];
  const old = new Date(Date.now() - 2 * 3600 * 1000);
  for (const f of stale) {
    fs.writeFileSync(f, 'x');
    fs.utimesSync(f, old, old);
  }
  await sweepTemporary(p, 'fn');
  t.same(
    stale.filter((f) => fs.existsSync(f)),
    [],
    'swept, as those of the queue itself are',
  );
});

// NATS bridges (issue 14): the --nats/--subject/--durable/--stream rules, one triggers file with
// the other kinds, the call a message becomes (headers passed and withheld, the key), what is
// acked and what handed back, and the golden bridge unit.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildNatsTrigger, checkNatsUrl, checkSubject } from '../../src/functions/nats-triggers';
import { buildSchedule, parseTriggers, renderTriggers } from '../../src/functions/schedules';
import { bridgedCall, bridgedHeaders, disposition, keyScope, messageKey, setupWait, NAK_DELAY_MS } from '../../src/queue/nats-bridge';
import { FaassError } from '../../src/core/errors';
import { renderAllUnits, UnitContext } from '../../src/systemd/units';
import { buildSettings } from '../../src/core/settings';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { TRIGGER_HEADERS } from '../../src/gateway/headers';
import { ROOT } from '../support/root';

const refused = (f: () => unknown, code: string, msg: RegExp) => {
  try {
    f();
  } catch (e) {
    return e instanceof FaassError && e.code === code && msg.test(e.message);
  }
  return false;
};

t.test('--nats URL: nats:// or tls://, a host and a port, no credentials', async (t) => {
  t.equal(checkNatsUrl('nats://127.0.0.1:4222'), 'nats://127.0.0.1:4222');
  t.equal(checkNatsUrl(' tls://nats.example:4443/ '), 'tls://nats.example:4443');
  t.equal(checkNatsUrl('nats://[::1]:4222'), 'nats://[::1]:4222');
  t.ok(refused(() => checkNatsUrl('http://127.0.0.1:4222'), 'FAASS_E_CONFIG_INVALID', /scheme is nats:\/\/ or tls:\/\//));
  t.ok(refused(() => checkNatsUrl('nats://u:secret@h:4222'), 'FAASS_E_CONFIG_INVALID', /^(?!.*secret).*credentials in the URL are not taken/), 'credentials refused, and not repeated');
  t.ok(refused(() => checkNatsUrl('nats://h:4222/x'), 'FAASS_E_CONFIG_INVALID', /nothing after them/));
  t.ok(refused(() => checkNatsUrl('not a url'), 'FAASS_E_CONFIG_INVALID', /give a URL/));
});

t.test('--subject: tokens, * a token, > the last', async (t) => {
  for (const s of ['orders', 'orders.*', 'orders.>', 'a.*.c', '>']) t.equal(checkSubject(s), s);
  for (const s of ['a.>.b', 'a..b', 'a b', 'or*ders', 'a."b"']) t.ok(refused(() => checkSubject(s), 'FAASS_E_CONFIG_INVALID', /Invalid --subject/), JSON.stringify(s));
});

t.test('a bridge: durable by default faass-NAME-ID, names of JetStream', async (t) => {
  t.same(buildNatsTrigger('fn', 'bus', { nats: 'nats://127.0.0.1:4222', subject: 'o.>' }), { id: 'bus', url: 'nats://127.0.0.1:4222', subject: 'o.>', durable: 'faass-fn-bus' });
  t.ok(refused(() => buildNatsTrigger('fn', '1', { nats: 'nats://h:1' }), 'FAASS_E_USAGE', /needs --subject/));
  t.ok(refused(() => buildNatsTrigger('fn', '1', { nats: 'nats://h:1', subject: 'a', durable: 'a.b' }), 'FAASS_E_CONFIG_INVALID', /Invalid --durable/));
  t.ok(refused(() => buildNatsTrigger('fn', '1', { nats: 'nats://h:1', subject: 'a', stream: 'S T' }), 'FAASS_E_CONFIG_INVALID', /Invalid --stream/));
});

t.test('one triggers file for schedules and bridges', async (t) => {
  const s = buildSchedule('1', { spec: 'hourly', tz: 'UTC' });
  const n = buildNatsTrigger('f', 'bus', { nats: 'nats://127.0.0.1:4222', subject: 'o.>', stream: 'ORDERS' });
  const text = renderTriggers('f', { schedules: [s], drops: [], nats: [n] });
  t.match(text, /\[bus\]\nnats=nats:\/\/127\.0\.0\.1:4222\nsubject=o\.>\ndurable=faass-f-bus\nstream=ORDERS\n/);
  t.same(parseTriggers('f', text), { schedules: [s], drops: [], nats: [n] }, 'read back as written');
  t.throws(() => parseTriggers('f', '[bus]\nnats=nats://h:1\nsubject=a\nspec=hourly\n'), /Unknown key "spec" in NATS bridge bus of f/);
});

const msg = (headers: [string, string[]][] = []) => ({ subject: 'orders.new', seq: 42, data: new TextEncoder().encode('hello'), headers });

t.test('the call a message becomes', async (t) => {
  const c = bridgedCall('fn', 'bus', msg([['X-Source', ['a', 'b']], ['Content-Type', ['text/plain']]]), 1000);
  t.same([c.name, c.method, c.path, c.enqueuedAt, c.body.toString()], ['fn', 'POST', '/', 1000, 'hello']);
  t.same(c.headers, { 'content-type': 'text/plain', 'x-source': 'a, b', 'x-faass-trigger': 'nats', 'x-faass-trigger-id': 'bus', 'x-faass-nats-subject': 'orders.new', 'x-faass-nats-sequence': '42' });
  t.equal(bridgedCall('fn', 'bus', msg()).headers['content-type'], 'application/octet-stream', 'bytes, unless the message says');
  for (const h of ['x-faass-nats-subject', 'x-faass-nats-sequence']) t.ok(TRIGGER_HEADERS.includes(h), `${h}: a client of the gateway cannot say it`);
});

t.test("a message's headers: faass's, credentials and framing withheld, bounded", async (t) => {
  const { headers, left } = bridgedHeaders([
    ['X-Faass-Trigger', ['forged']],
    ['Authorization', ['Bearer x']],
    ['Cookie', ['c']],
    ['Content-Length', ['9']],
    ['Transfer-Encoding', ['chunked']],
    ['X-Call-Id', ['mine']],
    ['Idempotency-Key', ['k']],
    ['X-Callback-Url', ['http://x']],
    ['Bad Name', ['v']],
    ['X-Ctl', ['a\nb']],
    ['Nats-Msg-Id', ['m1']],
  ]);
  t.same(headers, { 'nats-msg-id': 'm1' });
  t.equal(left.length, 10);
  const many = bridgedHeaders(Array.from({ length: 60 }, (_, i): [string, string[]] => [`x-h${i}`, ['v']]));
  t.equal(Object.keys(many.headers).length, 50, 'at most 50');
  const big = bridgedHeaders([['x-a', ['a'.repeat(5000)]], ['x-b', ['b'.repeat(5000)]]]);
  t.same(Object.keys(big.headers), ['x-a'], 'at most 8 KiB');
});

t.test('acked once queued; a full queue or an unwritable spool handed back with a delay', async (t) => {
  t.same(disposition(undefined), { ack: true });
  t.same(disposition(new FaassError('FAASS_E_QUEUE_FULL', 'full')), { nak: NAK_DELAY_MS, why: 'full (FAASS_E_QUEUE_FULL)' });
  t.same(disposition(new FaassError('FAASS_E_QUEUE_UNAVAILABLE', 'disk')), { nak: NAK_DELAY_MS, why: 'disk (FAASS_E_QUEUE_UNAVAILABLE)' });
  t.equal(messageKey('ORDERS', '2026-01-01T00:00:00Z', 7), 'ORDERS 2026-01-01T00:00:00Z 7', "the stream's identity and the sequence");
  t.equal(keyScope('bus'), 'nats bus');
  t.same([0, 1, 2, 5, 10].map(setupWait), [1000, 2000, 4000, 30000, 30000], 'setup retries double to 30 s');
});

const ctx: UnitContext = { node: '/usr/bin/node', dist: '/home/u/.local/lib/faass/dist', proxyd: '/usr/lib/systemd/systemd-socket-proxyd', xdg: { config: '/home/u/.config', data: '/home/u/.local/share', state: '/home/u/.local/state' }, engine: '/var/run/docker.sock' };

t.test('golden unit of a bridge', async (t) => {
  const fn = buildFunctionConfig('orders', { runtime: 'exec', command: 'cat', queue_max: '500' });
  const n = buildNatsTrigger('orders', 'bus', { nats: 'nats://127.0.0.1:4222', subject: 'orders.>', stream: 'ORDERS' });
  const units = renderAllUnits(buildSettings({ listen: '127.0.0.1:8080' }), [fn], ctx, {}, {}, { orders: [n] });
  const file = 'faass-fn-orders-at-bus.service';
  const golden = path.join(ROOT, 'test', 'golden', file);
  if (process.env.UPDATE_GOLDEN) {
    fs.writeFileSync(golden, units[file]);
    t.fail('UPDATE_GOLDEN: rewrote the bridge golden file; review and run again');
  } else t.equal(units[file], fs.readFileSync(golden, 'utf8'), `${file} matches its golden file`);
  const host = renderAllUnits(buildSettings({ listen: '127.0.0.1:8080' }), [fn], ctx, {}, {}, { orders: [buildNatsTrigger('orders', 'h', { nats: 'nats://nats.example:4222', subject: 'a' })] });
  t.notMatch(host['faass-fn-orders-at-h.service'], /IPAddress/, 'a host name: no address filter (it resolves at connect)');
});

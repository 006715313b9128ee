// NATS bridges (issue 14): the --nats/--subject/--durable/--stream rules, one triggers file with
// the other kinds, the call a message becomes (headers passed and withheld, the key), what is
// acked and what handed back, the golden bridge unit; authentication: .creds files, the
// secret options, where the secret goes (a private file) and where it never goes (the triggers
// file, the unit).
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
import * as os from 'node:os';
import { nkeys } from 'nats';
import { checkCreds, readNatsAuth, writeNatsSecret, removeNatsSecret, removeNatsSecrets, NatsAuthArgs } from '../../src/functions/nats-auth';
import { natsAuthLabel } from '../../src/functions/nats-triggers';
import { natsSecretPath, resolvePaths } from '../../src/core/paths';

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
  // One that does not parse is echoed, but never the password a user put in it.
  t.ok(refused(() => checkNatsUrl('nats://bob:hunter2@127.0.0.1:99999'), 'FAASS_E_CONFIG_INVALID', /^(?!.*hunter2)Invalid --nats "nats:\/\/…@127\.0\.0\.1:99999": give a URL/), 'an unparsable URL: its credentials not repeated');
  t.ok(refused(() => checkNatsUrl('//bob:hunter2@host:4222'), 'FAASS_E_CONFIG_INVALID', /^(?!.*hunter2).*give a URL/));
});

t.test('--subject: tokens, * a token, > the last', async (t) => {
  for (const s of ['orders', 'orders.*', 'orders.>', 'a.*.c', '>']) t.equal(checkSubject(s), s);
  for (const s of ['a.>.b', 'a..b', 'a b', 'or*ders', 'a."b"']) t.ok(refused(() => checkSubject(s), 'FAASS_E_CONFIG_INVALID', /Invalid --subject/), JSON.stringify(s));
});

t.test('durables of long names: at most 64 characters, and distinct when the names differ only late', async (t) => {
  const long = 'f'.repeat(60);
  const a = buildNatsTrigger(long, 'bus1', { nats: 'nats://h:1', subject: 'a' }).durable;
  const b = buildNatsTrigger(long, 'bus2', { nats: 'nats://h:1', subject: 'a' }).durable;
  t.not(a, b, 'two bridges of one function with a long name: two consumers');
  t.not(buildNatsTrigger(`${long}ab`, '1', { nats: 'nats://h:1', subject: 'a' }).durable, buildNatsTrigger(`${long}ac`, '1', { nats: 'nats://h:1', subject: 'a' }).durable, 'two functions whose names differ at their end');
  for (const d of [a, b]) t.match(d, /^faass-f+-[0-9a-f]{8}$/, 'JetStream name of 64 characters at most');
  t.ok(a.length <= 64 && b.length <= 64);
  t.equal(buildNatsTrigger('fn', 'bus', { nats: 'nats://h:1', subject: 'a' }).durable, 'faass-fn-bus', 'a short one as before');
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

// A .creds file as nsc writes it: a user JWT (made up here: only its shape is checked) and a
// user's NKey seed, made with the nkeys the NATS client bundles.
function credsFile(seed = new TextDecoder().decode(nkeys.createUser().getSeed()), jwt = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVQSJ9.c2ln'): string {
  return `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n************************* IMPORTANT *************************\nNKEY Seed printed below can be used to sign and prove identity.\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n\n*************************************************************\n`;
}

t.test('.creds files: a JWT block and a user seed block, errors that never repeat them', async (t) => {
  const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
  t.doesNotThrow(() => checkCreds(credsFile(seed)), 'as nsc writes it');
  const cases: [string, RegExp][] = [
    ['', /not a NATS credentials file/],
    [credsFile(seed).split('\n').slice(0, 4).join('\n'), /not a NATS credentials file/],
    [credsFile(seed, 'not-a-jwt'), /first block is not a JWT/],
    [credsFile(seed, 'eyJ4IjoxfQ.eyJ4IjoxfQ.c2ln'), /first block is not a JWT/],
    [credsFile(new TextDecoder().decode(nkeys.createAccount().getSeed())), /not a user's NKey seed/],
    [credsFile(seed.slice(0, -3) + 'AAA'), /does not decode/],
  ];
  for (const [text, why] of cases) {
    t.ok(refused(() => checkCreds(text), 'FAASS_E_CONFIG_INVALID', why), String(why));
    try {
      checkCreds(text);
    } catch (e) {
      t.notMatch((e as Error).message, /SU[A-Z2-7]{20}|eyJ/, 'neither the seed nor the JWT in the error');
    }
  }
});

t.test('the secret options: one method, files read and checked, exit 2 and a line otherwise', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nats-auth-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => (fs.writeFileSync(path.join(dir, name), text), path.join(dir, name));
  const tok = file('tok', 's3cret-token\n');
  const pw = file('pw', 'pa55word');
  const empty = file('empty', '');
  const creds = file('u.creds', credsFile());
  const code = (a: NatsAuthArgs): string => {
    try {
      readNatsAuth(a);
    } catch (e) {
      t.notMatch((e as Error).message, /s3cret|pa55/, 'no secret in the error');
      return `${(e as FaassError).code}: ${(e as Error).message}`;
    }
    return 'taken';
  };
  t.equal(readNatsAuth({}), undefined, 'none: no authentication');
  t.same(readNatsAuth({ natsTokenFile: tok }), { auth: 'token', secret: Buffer.from('s3cret-token') }, 'a token, its final newline dropped');
  t.same(readNatsAuth({ natsUser: 'alice', natsPasswordFile: pw }), { auth: 'user', user: 'alice', secret: Buffer.from('pa55word') });
  t.same(readNatsAuth({ natsCreds: creds }), { auth: 'creds', secret: fs.readFileSync(creds) }, 'a .creds file as it is');
  t.match(code({ natsTokenFile: tok, natsCreds: creds }), /^FAASS_E_USAGE: Give one way to authenticate to NATS, not --nats-creds and --nats-token-file$/);
  t.match(code({ natsTokenFile: tok, natsUser: 'a', natsPasswordFile: pw }), /^FAASS_E_USAGE: Give one way/);
  t.match(code({ natsUser: 'alice' }), /^FAASS_E_USAGE: --nats-user U needs --nats-password-file FILE/);
  t.match(code({ natsPasswordFile: pw }), /^FAASS_E_USAGE: --nats-password-file FILE needs --nats-user U/);
  t.match(code({ natsTokenFile: path.join(dir, 'none') }), /^FAASS_E_FILE_MISSING: --nats-token-file .*none: no such file$/);
  t.match(code({ natsTokenFile: empty }), /^FAASS_E_CONFIG_INVALID: --nats-token-file .*: the file is empty$/);
  t.match(code({ natsTokenFile: file('nl', '\n') }), /^FAASS_E_CONFIG_INVALID: --nats-token-file: the file is empty$/);
  t.match(code({ natsTokenFile: file('two', 's3cret\nmore\n') }), /more than one line/);
  t.match(code({ natsTokenFile: dir }), /a directory, not a file/);
  t.match(code({ natsUser: 'al ice', natsPasswordFile: pw }), /^FAASS_E_CONFIG_INVALID: Invalid --nats-user/);
  t.match(code({ natsCreds: tok }), /not a NATS credentials file/);
  t.match(code({ natsPasswordFile: file('big', 'x'.repeat(70000)), natsUser: 'a' }), /larger than 65536 bytes/);
  if (process.getuid?.() !== 0) {
    fs.chmodSync(pw, 0);
    t.match(code({ natsUser: 'a', natsPasswordFile: pw }), /cannot be read \(EACCES\)/);
  }
});

t.test('the triggers file and the unit know the method and the path, never the secret', async (t) => {
  const n = buildNatsTrigger('f', 'bus', { nats: 'nats://127.0.0.1:4222', subject: 'o.>', auth: 'user', user: 'alice' });
  const text = renderTriggers('f', { schedules: [], drops: [], nats: [n] });
  t.match(text, /\nauth=user\nuser=alice\n/);
  t.same(parseTriggers('f', text).nats, [n], 'read back as written');
  t.equal(natsAuthLabel(n), 'user:alice');
  t.equal(natsAuthLabel(buildNatsTrigger('f', 'b', { nats: 'nats://h:1', subject: 'a', auth: 'creds' })), 'creds');
  t.equal(natsAuthLabel(buildNatsTrigger('f', 'b', { nats: 'nats://h:1', subject: 'a' })), 'none');
  t.ok(refused(() => buildNatsTrigger('f', 'b', { nats: 'nats://h:1', subject: 'a', auth: 'user' }), 'FAASS_E_CONFIG_INVALID', /auth=user needs it/));
  t.ok(refused(() => buildNatsTrigger('f', 'b', { nats: 'nats://h:1', subject: 'a', user: 'x' }), 'FAASS_E_CONFIG_INVALID', /user goes with auth=user/));
  t.ok(refused(() => buildNatsTrigger('f', 'b', { nats: 'nats://h:1', subject: 'a', auth: 'password' }), 'FAASS_E_CONFIG_INVALID', /auth is token, user, creds/));
  const fn = buildFunctionConfig('orders', { runtime: 'exec', command: 'cat' });
  const tok = buildNatsTrigger('orders', 'bus', { nats: 'nats://127.0.0.1:4222', subject: 'orders.>', auth: 'token' });
  const unit = renderAllUnits(buildSettings({ listen: '127.0.0.1:8080' }), [fn], ctx, {}, {}, { orders: [tok] })['faass-fn-orders-at-bus.service'];
  const secret = '/home/u/.config/faass/nats/orders/bus.secret';
  t.match(unit, ` --auth token --secret-file ${secret} --queue-max`, 'the bridge is told the method and the path');
  t.match(unit, `TemporaryFileSystem=/home/u/.config/faass:ro\nBindReadOnlyPaths=-${secret}\n`, "the one file of faass's config its unit sees");
  const pw = renderAllUnits(buildSettings({ listen: '127.0.0.1:8080' }), [fn], ctx, {}, {}, { orders: [buildNatsTrigger('orders', 'bus', { nats: 'nats://127.0.0.1:4222', subject: 'orders.>', auth: 'user', user: 'alice' })] })['faass-fn-orders-at-bus.service'];
  t.match(pw, ` --auth user --user alice --secret-file ${secret} --queue-max`, 'the user name is no secret; the password is in the file');
});

t.test('the private copy: 0600 in a 0700 directory, one per trigger, removed with it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nats-secret-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: dir, XDG_STATE_HOME: dir, XDG_DATA_HOME: dir, XDG_RUNTIME_DIR: dir });
  const old = process.umask(0o022);
  try {
    writeNatsSecret(p, 'fn', 'bus', Buffer.from('s3cret'));
    writeNatsSecret(p, 'fn', 'two', Buffer.from('other'));
  } finally {
    process.umask(old);
  }
  const file = natsSecretPath(p, 'fn', 'bus');
  t.equal(file, path.join(dir, 'faass', 'nats', 'fn', 'bus.secret'));
  t.equal(fs.readFileSync(file, 'utf8'), 's3cret');
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'the file 0600, whatever the umask');
  t.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700, 'its directory 0700');
  t.equal(fs.statSync(path.join(dir, 'faass', 'nats')).mode & 0o777, 0o700);
  removeNatsSecret(p, 'fn', 'bus');
  t.notOk(fs.existsSync(file), 'trigger rm: its file goes');
  t.ok(fs.existsSync(natsSecretPath(p, 'fn', 'two')), "the other trigger's stays");
  removeNatsSecrets(p, 'fn');
  t.notOk(fs.existsSync(path.dirname(file)), 'delete: all of them');
});

// Topics (issue 14): the name rule, a function's topics file, who subscribes, the publish's
// answer (202, 207, the refusal's status), who may publish, the API's trigger bodies, the
// metrics and the status section.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isValidTopic, validateTopic } from '../../src/core/validate';
import { resolvePaths, functionConfPath } from '../../src/core/paths';
import { allSubscriptions, parseTopics, subscribe, subscribersOf, topicsPath, unsubscribe, loadTopics } from '../../src/functions/topics';
import { answer } from '../../src/gateway/publish';
import { routeOf } from '../../src/gateway/route';
import { Authorizer, Caller, CredentialCheck, FunctionDoor } from '../../src/gateway/authorize';
import { Credential, Presented } from '../../src/auth/credentials';
import { FaassError } from '../../src/core/errors';
import { listTriggers, parseTriggerBody } from '../../src/api/triggers';
import { withAllKinds } from '../../src/faassctl/trigger-topics';
import { printTriggers } from '../../src/faassctl/trigger';
import { emptyMetrics, merge, onlyFunctions, onlyLabels, subtract } from '../../src/observe/metrics-store';
import { TriggerCounts, renderTriggers, triggerCounts } from '../../src/faassctl/status';
import { buildFunctionConfig, renderFunctionConfig } from '../../src/functions/function-config';
import { buildSchedule, saveTriggers, schedulesPath } from '../../src/functions/schedules';
import { buildFileDrop } from '../../src/functions/file-drops';
import { buildNatsTrigger } from '../../src/functions/nats-triggers';
import { log } from '../../src/observe/log';

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return (e as FaassError).code;
  }
  return undefined;
};

t.test('topic names: dot-separated words, one rule', async (t) => {
  for (const ok of ['orders', 'orders.created', 'billing-v2.done', 'a_b.c-d.e1', '0', 'x'.repeat(63)]) t.ok(isValidTopic(ok), ok);
  for (const bad of ['', 'Orders', 'orders..created', '.orders', 'orders.', '-orders', 'a/b', 'a b', 'a%2Fb', 'é', 'x'.repeat(64), `${'a.'.repeat(100)}a`, 'a\nb']) t.notOk(isValidTopic(bad), JSON.stringify(bad));
  t.equal(codeOf(() => validateTopic('No Good')), 'FAASS_E_TOPIC_INVALID');
  t.equal(codeOf(() => validateTopic(7)), 'FAASS_E_TOPIC_INVALID');
});

t.test('the topics file: a topic a line, comments, each judged, no repeats', async (t) => {
  t.same(parseTopics('# c\nb.x\n\n  a  \nb.x\n'), ['a', 'b.x']);
  t.equal(codeOf(() => parseTopics('ok\nNot Ok\n')), 'FAASS_E_TOPIC_INVALID');
});

t.test('subscribe, unsubscribe, who subscribes; a delete-like removal and a broken file', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-topics-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'c'), XDG_DATA_HOME: path.join(dir, 'd'), XDG_STATE_HOME: path.join(dir, 's'), XDG_RUNTIME_DIR: path.join(dir, 'r') });
  fs.mkdirSync(path.dirname(functionConfPath(p, 'a')), { recursive: true });
  for (const n of ['a', 'b']) fs.writeFileSync(functionConfPath(p, n), '[function]\nruntime = exec\ncommand = cat\n');
  t.equal(codeOf(() => subscribe(p, 'nope', 'x')), 'FAASS_E_FUNCTION_NOT_FOUND', 'only a function that exists');
  t.equal(codeOf(() => subscribe(p, 'a', 'Bad Topic')), 'FAASS_E_TOPIC_INVALID');
  t.same(subscribe(p, 'a', 'orders'), { topic: 'orders', added: true });
  t.same(subscribe(p, 'a', 'orders'), { topic: 'orders', added: false }, 'twice: kept once');
  subscribe(p, 'a', 'audit');
  subscribe(p, 'b', 'orders');
  t.same(loadTopics(p, 'a'), ['audit', 'orders']);
  t.same(subscribersOf(p, 'orders'), ['a', 'b']);
  t.same(subscribersOf(p, 'nobody'), []);
  t.same([...allSubscriptions(p)], [['a', ['audit', 'orders']], ['b', ['orders']]]);
  t.equal(codeOf(() => unsubscribe(p, 'b', 'audit')), 'FAASS_E_TOPIC_NOT_FOUND');
  unsubscribe(p, 'b', 'orders');
  t.notOk(fs.existsSync(topicsPath(p, 'b')), 'the last topic gone: the file too');
  t.same(subscribersOf(p, 'orders'), ['a']);
  fs.writeFileSync(topicsPath(p, 'b'), 'orders\nNOT A TOPIC\n');
  t.equal(codeOf(() => subscribersOf(p, 'orders')), 'FAASS_E_CONFIG_BROKEN', 'a file that does not parse: nobody knows who gets a message, so none is published');
});

t.test('routes: /topic/T, decoded then judged', async (t) => {
  t.same(routeOf('/topic/orders.created', undefined, { metrics: true }), { to: 'topic', topic: 'orders.created', path: '/' });
  t.same(routeOf('/topic/orders?x=1', undefined, { metrics: true }), { to: 'topic', topic: 'orders', path: '/?x=1' });
  const bad = routeOf('/topic/a%2Fb', undefined, { metrics: true });
  t.equal(bad.to === 'nowhere' && bad.error.code, 'FAASS_E_TOPIC_INVALID', 'an encoded slash is refused, never a path');
  t.equal(routeOf('/topic/a/b', 'fn', { metrics: true }).to, 'function', '/topic/T/rest is no topic route');
});

t.test("the publish's answer: 202 all, 207 some, the refusal's status none", async (t) => {
  const ok = (f: string) => ({ function: f, callId: `id-${f}`, fresh: true });
  const full = (f: string) => ({ function: f, error: { code: 'FAASS_E_QUEUE_FULL' as const, message: `The queue of ${f} is full` } });
  const all = answer('t', [ok('a'), ok('b')]);
  t.equal(all.status, 202);
  t.same(all.body, { topic: 't', subscribers: [{ function: 'a', callId: 'id-a' }, { function: 'b', callId: 'id-b' }] });
  t.equal(all.fresh, 2);
  const some = answer('t', [ok('a'), full('b')]);
  t.equal(some.status, 207);
  t.same(some.body.subscribers, [{ function: 'a', callId: 'id-a' }, full('b')], 'says which got it');
  t.same(some.headers, { 'retry-after': '5' });
  const none = answer('t', [full('a'), full('b')]);
  t.equal(none.status, 429);
  t.match(none.body, { error: { code: 'FAASS_E_QUEUE_FULL', message: /No subscriber of topic t got the message/ } });
  const repeat = answer('t', [{ function: 'a', callId: 'x', repeat: true as const }]);
  t.equal(repeat.status, 202);
  t.equal(repeat.fresh, 0, 'a repeat is not a new message');
});

class Store implements CredentialCheck {
  verified = 0;
  get hasAdmin(): boolean {
    return true;
  }
  async verify(p: Presented): Promise<Credential | null> {
    this.verified++;
    const admin = p.name === 'root';
    return p.secret === 'a'.repeat(43) ? { name: p.name, admin, hash: '', created: '' } : null;
  }
}

t.test('who may publish: a credential every subscriber takes, or an admin', async (t) => {
  const warning = log.warning;
  log.warning = () => undefined;
  t.teardown(() => void (log.warning = warning));
  const as = (name?: string): Caller => ({ address: '192.0.2.7', authorization: name ? `Bearer ${name}.${'a'.repeat(43)}` : undefined });
  const door = (name: string, auth: string[], broken: FaassError | null = null): FunctionDoor => ({ kind: 'function', name, auth, broken });
  const store = new Store();
  const auth = new Authorizer(store);
  const open = [door('a', []), door('b', [])];
  t.equal(await auth.checkEvery(as(), 't', open), null, 'all public: anyone');
  t.equal(store.verified, 0, 'with no credential looked at');
  const mixed = [door('a', []), door('b', ['ci']), door('c', ['ci', 'ops'])];
  t.equal((await auth.checkEvery(as(), 't', mixed))?.error.code, 'FAASS_E_AUTH_REQUIRED', 'one guarded: a credential is needed');
  t.equal(await auth.checkEvery(as('ci'), 't', mixed), null, 'one every subscriber takes');
  const ops = await auth.checkEvery(as('ops'), 't', mixed);
  t.equal(ops?.error.code, 'FAASS_E_FORBIDDEN', 'one that a subscriber does not take: refused');
  t.notMatch(ops?.error.message ?? '', /\bb\b/, 'without naming the subscriber');
  t.equal(await auth.checkEvery(as('root'), 't', mixed), null, 'an admin');
  const broken = new FaassError('FAASS_E_CONFIG_BROKEN', 'x.conf: bad');
  t.equal((await auth.checkEvery(as('root'), 't', [...open, door('z', [], broken)]))?.error.code, 'FAASS_E_CONFIG_BROKEN', 'a broken subscriber refuses the publish, even to an admin');
  store.verified = 0;
  await auth.checkEvery(as('ops'), 't', mixed);
  t.equal(store.verified, 1, 'the credential is checked once for all subscribers');
});

t.test('the API body of a new trigger', async (t) => {
  t.same(parseTriggerBody({ topic: 'orders' }), { topic: 'orders' });
  t.same(parseTriggerBody({ schedule: { spec: 'hourly', tz: 'UTC' }, id: 'h' }), { schedule: { spec: 'hourly', tz: 'UTC' }, id: 'h' });
  for (const bad of [null, [], 'x', {}, { topic: 'a', schedule: { spec: 'hourly' } }, { topic: 'a', id: '1' }, { schedule: 'hourly' }, { schedule: { spec: 'hourly', when: 1 } }, { watch: '/x' }]) t.equal(codeOf(() => parseTriggerBody(bad)), 'FAASS_E_CONFIG_INVALID', JSON.stringify(bad));
});

t.test('the API: file drops and NATS bridges listed, and added on the host only, saying so', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-api-triggers-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: dir, XDG_STATE_HOME: dir, XDG_DATA_HOME: dir, XDG_RUNTIME_DIR: dir });
  for (const fn of ['fn', 'other']) {
    fs.mkdirSync(path.dirname(functionConfPath(p, fn)), { recursive: true });
    fs.writeFileSync(functionConfPath(p, fn), renderFunctionConfig(buildFunctionConfig(fn, { runtime: 'exec', command: 'cat' })));
  }
  saveTriggers(p, 'fn', { schedules: [], drops: [buildFileDrop('in', { watch: '/srv/in', pattern: '*.csv' })], nats: [buildNatsTrigger('fn', 'bus', { nats: 'nats://127.0.0.1:4222', subject: 'orders.>' })] });
  subscribe(p, 'other', 'orders.created');
  const all = (await listTriggers(p)).body as Record<string, unknown>;
  t.same(all.drops, [{ function: 'fn', id: 'in', watch: '/srv/in', pattern: '*.csv', inlineMax: 65536, keep: 604800, chainLimit: 5, path: 'faass-fn-fn-at-in.path' }]);
  t.same(all.nats, [{ function: 'fn', id: 'bus', nats: 'nats://127.0.0.1:4222', subject: 'orders.>', durable: 'faass-fn-bus', service: 'faass-fn-fn-at-bus.service', auth: 'none' }], 'with how it authenticates (none here), never a secret');
  t.same(all.topics, [{ function: 'other', topic: 'orders.created' }], 'the kinds there were stay as they were');
  const one = (await listTriggers(p, 'other')).body as Record<string, unknown>;
  t.same([one.drops, one.nats], [[], []], "GET /system/triggers/NAME: that function's only");
  for (const [body, kind] of [[{ watch: '/srv/x' }, 'file drop'], [{ nats: 'nats://127.0.0.1:4222', subject: 's' }, 'NATS bridge']] as const) {
    let msg = '';
    try {
      parseTriggerBody(body);
    } catch (e) {
      msg = e instanceof FaassError && e.code === 'FAASS_E_CONFIG_INVALID' ? e.message : '';
    }
    t.match(msg, new RegExp(`^A ${kind} is not added through the API: run faassctl trigger add NAME --${Object.keys(body)[0]} \\.\\.\\. on the gateway's host`), kind);
  }
});

t.test('metrics: topic counts only under topic names, only for viewers of everything; fires by result', async (t) => {
  const d = merge(emptyMetrics(), onlyLabels({ topicMessages: { 'orders.created': 2, 'bad topic': 5, 'x\n': 1 }, scheduleFires: { tick: { queued: 3, skipped: 1, bogus: 9 }, 'Bad Name': { queued: 1 } } }));
  t.same(d.topicMessages, { 'orders.created': 2 });
  t.same(d.scheduleFires, { tick: { queued: 3, skipped: 1 } });
  t.same(onlyFunctions(d, () => true, { topics: true }).topicMessages, { 'orders.created': 2 });
  t.same(onlyFunctions(d, () => true).topicMessages, {}, 'a filtered viewer sees no topic');
  t.same(onlyFunctions(d, (f) => f !== 'tick').scheduleFires, {});
  const later = merge(emptyMetrics(), { topicMessages: { 'orders.created': 5 }, scheduleFires: { tick: { queued: 4, skipped: 1 } } });
  const w = subtract(later, d);
  t.same([w.topicMessages, w.scheduleFires], [{ 'orders.created': 3 }, { tick: { queued: 1, skipped: 0 } }], 'windows (faassctl stats) subtract them');
});

t.test('faassctl status: a Triggers section for functions that have some', async (t) => {
  const none: TriggerCounts = { schedules: 0, topics: 0, drops: 0, nats: 0 };
  t.equal(renderTriggers(new Map([['a', none]])), '');
  t.equal(
    renderTriggers(new Map<string, TriggerCounts>([['a', none], ['bb', { ...none, schedules: 2, topics: 'broken' }], ['c', { ...none, topics: 1 }], ['d', { ...none, drops: 1 }], ['e', { ...none, nats: 2 }]])),
    '\nTriggers (faassctl trigger ls NAME):\n  FUNCTION  SCHEDULES  TOPICS  DROPS  NATS\n  bb        2          broken  0      0\n  c         0          1       0      0\n  d         0          0       1      0\n  e         0          0       0      2\n',
    "file drops and NATS bridges counted too, in columns after the first ones (scripts' columns stay)",
  );
});

t.test('faassctl status: the counts from the triggers file, one of every kind', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-status-triggers-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: dir, XDG_STATE_HOME: dir, XDG_DATA_HOME: dir, XDG_RUNTIME_DIR: dir });
  fs.mkdirSync(path.dirname(functionConfPath(p, 'fn')), { recursive: true });
  fs.writeFileSync(functionConfPath(p, 'fn'), renderFunctionConfig(buildFunctionConfig('fn', { runtime: 'exec', command: 'cat' })));
  saveTriggers(p, 'fn', { schedules: [buildSchedule('1', { spec: 'hourly', tz: 'UTC' })], drops: [buildFileDrop('2', { watch: path.join(dir, 'in') }), buildFileDrop('3', { watch: path.join(dir, 'in2') })], nats: [buildNatsTrigger('fn', '4', { nats: 'nats://127.0.0.1:4222', subject: 'orders.>' })] });
  t.same(triggerCounts(p, 'fn'), { schedules: 1, topics: 0, drops: 2, nats: 1 });
  fs.writeFileSync(schedulesPath(p, 'fn'), '[1]\nspec = \n');
  t.same(triggerCounts(p, 'fn'), { schedules: 'broken', topics: 0, drops: 'broken', nats: 'broken' }, 'a triggers file that does not read: broken in each of its columns');
});

t.test('trigger ls --gateway: the file drops and NATS bridges a gateway lists, none from an older one', async (t) => {
  const printed = (l: Parameters<typeof withAllKinds>[0]): string => {
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
    try {
      printTriggers(withAllKinds(l), undefined, false);
    } finally {
      process.stdout.write = write;
    }
    return out;
  };
  const drop = { function: 'fn', id: 'in', watch: '/srv/in', pattern: '*.csv', inlineMax: 65536, keep: 604800, chainLimit: 5, path: 'faass-fn-fn-at-in.path' };
  const nats = { function: 'fn', id: 'bus', nats: 'nats://127.0.0.1:4222', subject: 'orders.>', durable: 'faass-fn-bus', service: 'faass-fn-fn-at-bus.service' };
  const text = printed({ schedules: [], topics: [], drops: [drop], nats: [nats] });
  t.match(text, /^FUNCTION +ID +WATCH +PATTERN +PATH UNIT\nfn +in +\/srv\/in +\*\.csv +faass-fn-fn-at-in\.path\n/m);
  t.match(text, /^fn +bus +nats:\/\/127\.0\.0\.1:4222 +orders\.> +- +faass-fn-bus +faass-fn-fn-at-bus\.service +none$/m, "AUTH last: none from an older gateway's answer");
  t.equal(printed({ schedules: [], topics: [{ function: 'fn', topic: 'a' }] }), 'FUNCTION  TOPIC\nfn        a\n', 'an answer without drops or nats: the kinds it has');
});

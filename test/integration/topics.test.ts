// Topics (issue 14): POST /topic/T queues one asynchronous call per subscribed function, each
// durable before the 202 and delivered by the dispatcher on its own (a failing subscriber ends in
// its dead letters and holds up no other); an Idempotency-Key makes a repeat queue nothing twice;
// no subscriber is 404; the caller must be allowed to call every subscriber; the trigger routes of
// the management API work through faassctl --gateway.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { startSandbox, setupGateway, request, writeFixture, waitFor, errorCode, TEST_USER, Sandbox } from '../support/sandbox';

// Says what reached it, on stderr (its journal); fails always when named bad.
const SUB = '#!/bin/sh\necho "got trigger=$Http_X_Faass_Trigger topic=$Http_X_Faass_Topic body=$(cat)" >&2\necho ok\n';
const BAD = '#!/bin/sh\necho "bad got $(cat)" >&2\nexit 1\n';
const TOPIC = 'orders.created';
// The journal is the user's, not the sandbox's: lines of an earlier run are there too, so every
// message of this run carries this mark.
const RUN = randomUUID().slice(0, 8);
const order = (n: number) => `order-${n}-${RUN}`;

interface Row {
  function: string;
  callId?: string;
  repeat?: boolean;
  error?: { code: string };
}

const stateOf = async (sb: Sandbox, id: string): Promise<{ state: string; attempts: unknown[]; status?: number }> => {
  const r = await sb.faassctl('calls', 'show', id, '--json');
  return r.code === 0 ? JSON.parse(r.stdout) : { state: 'unknown', attempts: [] };
};
// The lines of NAME's journal that say a message with this body reached it.
const got = async (sb: Sandbox, name: string, body: string): Promise<string[]> => (await sb.faassctl('logs', name, '--lines', '2000')).stdout.split('\n').filter((l) => l.endsWith(`body=${body}`) || l.endsWith(`bad got ${body}`));
// Waits for the journal to show at least n such lines (it takes them a moment after the call ends), then gives them all.
const gotAtLeast = async (sb: Sandbox, name: string, body: string, n: number): Promise<string[]> => {
  await waitFor(`${n} line(s) of ${name} with ${body}`, async () => (await got(sb, name, body)).length >= n, 20000).catch(() => undefined);
  return got(sb, name, body);
};
const queueFiles = (sb: Sandbox, name: string): string[] => {
  try {
    return fs.readdirSync(path.join(sb.env.XDG_STATE_HOME as string, 'faass', 'queue', name)).filter((f) => f.endsWith('.call'));
  } catch {
    return [];
  }
};

t.test('topics', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 5);
  const sub = writeFixture(sb, 'sub.sh', SUB, 0o755);
  for (const n of ['s1', 's2']) t.equal((await sb.faassctl('deploy', n, '--runtime', 'exec', '--from-file', sub, '--idle', '30')).code, 0);
  const s3 = await sb.faassctl('deploy', 's3', '--runtime', 'exec', '--from-file', sub, '--idle', '30', '--topic', TOPIC);
  t.equal(s3.code, 0, s3.stderr);
  t.match(s3.stdout, new RegExp(`s3 subscribes to topic ${TOPIC.replace('.', '\\.')}`), 'deploy --topic subscribes');
  t.equal((await sb.faassctl('deploy', 'bad', '--runtime', 'exec', '--from-file', writeFixture(sb, 'bad.sh', BAD, 0o755), '--idle', '30', '--retries', '1')).code, 0);
  for (const n of ['s1', 's2', 'bad']) t.equal((await sb.faassctl('trigger', 'add', n, '--topic', TOPIC)).code, 0, `${n} subscribes`);
  const root = (await sb.faassctl('credentials', 'add', 'root', '--admin')).stdout.trim();

  t.test('a message reaches each subscriber once; the failing one ends in its dead letters', async (t) => {
    const r = await request(sb.port, `/topic/${TOPIC}`, { body: order(1) });
    t.equal(r.status, 202, r.body);
    const rows = (JSON.parse(r.body) as { subscribers: Row[] }).subscribers;
    t.same(rows.map((x) => x.function), ['bad', 's1', 's2', 's3'], 'a row per subscriber');
    t.equal(new Set(rows.map((x) => x.callId)).size, 4, 'each with a call of its own');
    const id = (n: string) => rows.find((x) => x.function === n)?.callId as string;
    for (const n of ['s1', 's2', 's3']) {
      await waitFor(`${n}'s call done`, async () => (await stateOf(sb, id(n))).state === 'done', 30000);
      const s = await stateOf(sb, id(n));
      t.equal(s.status, 200, `${n}: done, 200`);
      t.equal(s.attempts.length, 1, `${n}: at its first attempt, not held up by the failing subscriber`);
    }
    await waitFor("bad's call dead", async () => (await stateOf(sb, id('bad'))).state === 'dead', 30000);
    t.equal((await stateOf(sb, id('bad'))).attempts.length, 2, 'bad: dead after its attempts (retries 1)');
    t.match((await sb.faassctl('dlq', 'bad')).stdout, id('bad'), 'in its dead letters');
    for (const n of ['s1', 's2', 's3']) {
      const lines = await gotAtLeast(sb, n, order(1), 1);
      t.equal(lines.length, 1, `${n} got it once`);
      t.match(lines[0], `got trigger=topic topic=${TOPIC} body=${order(1)}`, 'with X-Faass-Trigger and X-Faass-Topic');
    }
  });

  t.test('a repeat with the same Idempotency-Key queues nothing twice', async (t) => {
    const once = { body: order(2), headers: { 'idempotency-key': order(2) } };
    const first = await request(sb.port, `/topic/${TOPIC}`, once);
    const again = await request(sb.port, `/topic/${TOPIC}`, once);
    t.equal(again.status, 202);
    const a = (JSON.parse(first.body) as { subscribers: Row[] }).subscribers;
    const b = (JSON.parse(again.body) as { subscribers: Row[] }).subscribers;
    t.same(b.map((x) => x.callId), a.map((x) => x.callId), "the first publish's call ids");
    t.ok(b.every((x) => x.repeat), 'each said to be a repeat');
    const cli = await sb.faassctl('publish', TOPIC, '-d', order(2), '--idempotency-key', order(2));
    t.equal(cli.code, 0, cli.stderr);
    t.match(cli.stdout, /queued before, same Idempotency-Key/, 'faassctl publish says so too');
    for (const n of ['s1', 's2', 's3']) await waitFor(`${n}'s call done`, async () => (await stateOf(sb, a.find((x) => x.function === n)?.callId as string)).state === 'done', 30000);
    await waitFor("bad's call dead", async () => (await stateOf(sb, a.find((x) => x.function === 'bad')?.callId as string)).state === 'dead', 30000);
    for (const n of ['s1', 's2', 's3']) t.equal((await gotAtLeast(sb, n, order(2), 1)).length, 1, `${n} got it once`);
    t.equal((await gotAtLeast(sb, 'bad', order(2), 2)).length, 2, 'bad: its two attempts, no more');
    const m = await request(sb.port, '/metrics', { method: 'GET', headers: { authorization: `Bearer ${root}` } });
    t.match(m.body, `faass_topic_messages_total{topic="${TOPIC}"} 2`, 'two messages counted: the repeats are not');
    const promtool = await sb.run('promtool', ['check', 'metrics'], { input: m.body });
    t.equal(promtool.code, 0, `promtool check metrics: ${promtool.stdout}${promtool.stderr}`);
    const anon = await request(sb.port, '/metrics', { method: 'GET' });
    t.notMatch(anon.body, /faass_topic_messages_total\{/, 'a filtered scrape shows no topic');
  });

  t.test('no subscriber: 404; a bad topic: 400; GET: 405', async (t) => {
    const none = await request(sb.port, '/topic/nobody.here', { body: 'x' });
    t.equal(none.status, 404);
    t.equal(errorCode(none.body), 'FAASS_E_TOPIC_NOT_FOUND');
    const bad = await request(sb.port, '/topic/Orders..x', { body: 'x' });
    t.equal(bad.status, 400);
    t.equal(errorCode(bad.body), 'FAASS_E_TOPIC_INVALID');
    t.equal((await request(sb.port, `/topic/${TOPIC}`, { method: 'GET' })).status, 405);
    const cli = await sb.faassctl('publish', 'nobody.here', '-d', 'x');
    t.equal(cli.code, 3, 'faassctl publish: exit 3');
    t.match(cli.stderr, /^faassctl: No function subscribes to topic nobody\.here.* \(FAASS_E_TOPIC_NOT_FOUND\)\n$/);
  });

  t.test('publishing needs a credential every subscriber takes', async (t) => {
    const ci = (await sb.faassctl('credentials', 'add', 'ci')).stdout.trim();
    const other = (await sb.faassctl('credentials', 'add', 'other')).stdout.trim();
    t.equal((await sb.faassctl('deploy', 'guarded', '--command', 'cat', '--auth', 'ci', '--topic', 'secret.t', '--idle', '30')).code, 0);
    t.equal((await sb.faassctl('trigger', 'add', 's1', '--topic', 'secret.t')).code, 0, 'a public subscriber beside it');
    const anon = await request(sb.port, '/topic/secret.t', { body: order(5) });
    t.equal(anon.status, 401, 'no credential: 401');
    t.equal(errorCode(anon.body), 'FAASS_E_AUTH_REQUIRED');
    const wrong = await request(sb.port, '/topic/secret.t', { body: order(5), headers: { authorization: `Bearer ${other}` } });
    t.equal(wrong.status, 403, 'a credential one subscriber does not take: 403');
    t.notMatch(wrong.body, /guarded/, 'without naming it');
    t.same(queueFiles(sb, 'guarded'), [], 'nothing queued for the guarded subscriber');
    const ok = await sb.faassctl('publish', 'secret.t', '-d', order(4), '--token', ci);
    t.equal(ok.code, 0, ok.stderr);
    t.match(ok.stdout, /^guarded\t[0-9a-f-]{36}\ns1\t[0-9a-f-]{36}\n$/, 'with it: a call id per subscriber');
    const s1 = /^s1\t(\S+)$/m.exec(ok.stdout)?.[1] as string;
    await waitFor("s1's call done", async () => (await stateOf(sb, s1)).state === 'done', 30000);
    t.equal((await gotAtLeast(sb, 's1', order(4), 1)).length, 1, 'the public subscriber got the allowed publish');
    t.equal((await got(sb, 's1', order(5))).length, 0, 'and not the refused ones, queued before it if at all');
  });

  t.test('the trigger routes of the API, through faassctl --gateway', async (t) => {
    const remote = (...args: string[]) => sb.faassctl('--gateway', `http://127.0.0.1:${sb.port}`, '--token', root, ...args);
    const add = await remote('trigger', 'add', 's2', '--topic', 'remote.t');
    t.equal(add.code, 0, add.stderr);
    t.match(add.stdout, /^s2 subscribes to topic remote\.t.* on http:\/\/127\.0\.0\.1:\d+\n$/);
    const sched = await remote('trigger', 'add', 's2', '--schedule', 'hourly', '--tz', 'UTC', '--id', 'h');
    t.equal(sched.code, 0, sched.stderr);
    t.match(sched.stdout, /^Added schedule h of s2: OnCalendar=hourly UTC .*; next fire /);
    const ls = await remote('trigger', 'ls', 's2');
    t.match(ls.stdout, /^FUNCTION\s+ID\s+SPEC.*\ns2\s+h\s+hourly\s+hourly\s+UTC\s+\w{3} \d{4}-/, 'ls: the schedule, with its next fire');
    t.match(ls.stdout, /\nFUNCTION\s+TOPIC\ns2\s+orders\.created\ns2\s+remote\.t\n$/, 'and the topics');
    const badSpec = await remote('trigger', 'add', 's2', '--schedule', '*-*-* 25:00', '--tz', 'UTC');
    t.equal(badSpec.code, 2, 'an invalid spec: exit 2');
    t.match(badSpec.stderr, /Failed to parse calendar specification.*\(FAASS_E_SCHEDULE_INVALID\)\n$/, "with systemd's reason");
    const badTopic = await request(sb.port, '/system/triggers/s2', { body: JSON.stringify({ topic: 'No Good' }), headers: { authorization: `Bearer ${root}`, 'content-type': 'application/json' } });
    t.equal(badTopic.status, 400, 'a bad topic through the API: 400');
    t.equal(errorCode(badTopic.body), 'FAASS_E_TOPIC_INVALID');
    t.equal((await remote('trigger', 'rm', 's2', 'h')).code, 0, 'rm a schedule');
    t.equal((await remote('trigger', 'rm', 's2', '--topic', 'remote.t')).code, 0, 'rm a topic');
    const gone = await remote('trigger', 'rm', 's2', '--topic', 'remote.t');
    t.equal(gone.code, 3, 'again: not subscribed, exit 3');
    t.match(gone.stderr, /FAASS_E_TOPIC_NOT_FOUND/);
    t.match((await sb.faassctl('trigger', 'ls', 's2')).stdout, /^FUNCTION\s+TOPIC\ns2\s+orders\.created\n$/, 'the host sees what the API changed');
    const status = await sb.faassctl('status');
    t.match(status.stdout, /\nTriggers \(faassctl trigger ls NAME\):\n  FUNCTION\s+SCHEDULES\s+TOPICS\s+DROPS\s+NATS\n(?:  .*\n)*  s2\s+0\s+1\s+0\s+0\n/, 'faassctl status counts the triggers');
  });

  t.test('a delete takes the subscription', async (t) => {
    t.equal((await sb.faassctl('delete', 's3')).code, 0);
    const r = await request(sb.port, `/topic/${TOPIC}`, { body: order(3) });
    t.same((JSON.parse(r.body) as { subscribers: Row[] }).subscribers.map((x) => x.function), ['bad', 's1', 's2']);
  });
});

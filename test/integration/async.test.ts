// Asynchronous calls (issue 13): queued durably, delivered by faass-dispatch through the
// function's socket, retried, buried in dead letters, with nothing running once the queue is
// empty; a dispatcher killed mid-run loses nothing.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startSandbox, setupGateway, request, writeFixture, waitFor, unitState, sandboxPids, TEST_USER, Sandbox } from '../support/sandbox';

const comm = (pid: number): string => {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return ''; // gone
  }
};

// Fails the first time it sees a call id. It remembers in /dev/shm, its own for as long as its
// runner lives (idle 5 min): where faass itself lives under /tmp (a clone there), /tmp is the
// host's and read-only to functions.
const FLAKY = '#!/bin/sh\nf=/dev/shm/seen-$(printf %s "$Http_X_Call_Id" | tr -dc "a-z0-9-")\nif [ -e "$f" ]; then echo "ok $Http_X_Faass_Attempt"; else : > "$f"; echo "first sight" >&2; exit 1; fi\n';

// The dispatcher's lines saying a call is done, for these calls only (the journal is the user's:
// another sandbox of the same user may have a function of the same name).
const doneLines = async (sb: Sandbox, name: string, ids: string[]): Promise<string[]> =>
  (await sb.faassctl('logs', name, '--lines', '5000')).stdout.split('\n').filter((l) => /faass-dispatch\[\d+\]: async call=\S+ .* done$/.test(l) && ids.some((id) => l.includes(`call=${id} `)));
const queueFiles = (sb: Sandbox, name: string): string[] => {
  try {
    return fs.readdirSync(path.join(sb.env.XDG_STATE_HOME as string, 'faass', 'queue', name)).filter((f) => f.endsWith('.call'));
  } catch {
    return [];
  }
};

t.test('asynchronous calls', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 1);
  t.equal((await sb.faassctl('deploy', 'flaky', '--runtime', 'exec', '--from-file', writeFixture(sb, 'flaky.sh', FLAKY, 0o755), '--idle', '5min')).code, 0);
  t.match(await unitState(sb, 'faass-dispatch.path'), /^active\/waiting$/, 'the gateway socket brings the path unit, waiting');

  t.test('every call is delivered once it succeeds, each after one failure', async (t) => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await request(sb.port, `/async-function/flaky/p${i}?n=${i}`, { body: `call ${i}` });
      t.equal(r.status, 202, `call ${i} is accepted`);
      ids.push(r.headers['x-call-id'] as string);
    }
    t.equal(new Set(ids).size, 30, 'each with an id of its own');
    await waitFor('30 calls done', async () => (await doneLines(sb, 'flaky', ids)).length >= 30, 120000).catch(() => undefined);
    const done = await doneLines(sb, 'flaky', ids);
    t.equal(done.length, 30, 'the dispatcher says each is done, once');
    for (const id of ids) t.ok(done.some((l) => l.includes(`call=${id} function=flaky attempt=2 status=200 done`)), `${id}: done at its second attempt`);
    const logs = (await sb.faassctl('logs', 'flaky', '--lines', '5000')).stdout;
    t.equal(ids.filter((id) => logs.includes(`call=${id} function=flaky attempt=1 status=500 retry in`)).length, 30, 'each failed once first: 60 deliveries for 30 calls, 30 retries');
    await waitFor('the dispatcher to exit', async () => (await unitState(sb, 'faass-dispatch.service')).startsWith('inactive'), 30000).catch(() => undefined);
    t.match(await unitState(sb, 'faass-dispatch.service'), /^inactive\//, 'with the queue empty, the dispatcher has exited');
    t.match(await unitState(sb, 'faass-dispatch.path'), /^active\/waiting$/, 'and the path unit waits');
    t.same(queueFiles(sb, 'flaky'), [], 'nothing is left in the queue');
    const shown = await sb.faassctl('calls', 'show', ids[0]);
    t.equal(shown.code, 0, shown.stderr);
    t.match(shown.stdout, new RegExp(`^${ids[0]}  flaky  done \\(HTTP 200, `), 'faassctl calls show: done, with its status');
    t.match(shown.stdout, /attempt 1 at \S+: HTTP 500\n  attempt 2 at \S+: HTTP 200\n$/, 'and its attempts');
    const unknown = await sb.faassctl('calls', 'show', '00000000-0000-4000-8000-000000000000');
    t.equal(unknown.code, 3, 'an id never queued: exit 3');
    t.match(unknown.stderr, /FAASS_E_CALL_NOT_FOUND/);
  });

  t.test('refused at once: a function that does not exist, a caller without the credential', async (t) => {
    t.equal((await request(sb.port, '/async-function/nope', { body: 'x' })).status, 404);
    const callback = await request(sb.port, '/async-function/flaky', { body: 'x', headers: { 'x-callback-url': 'http://192.0.2.1/' } });
    t.equal(callback.status, 400, 'X-Callback-Url outside the allow-list: refused (callbacks.test.ts has the rest)');
    t.match(callback.body, /FAASS_E_CALLBACK_REFUSED.*nothing was queued/);
    const ci = (await sb.faassctl('credentials', 'add', 'ci')).stdout.trim();
    t.equal((await sb.faassctl('deploy', 'guarded', '--command', 'cat', '--auth', 'ci')).code, 0);
    t.equal((await request(sb.port, '/async-function/guarded', { body: 'x' })).status, 401, 'no credential: 401, as a synchronous call');
    t.same(queueFiles(sb, 'guarded'), [], 'and nothing was queued');
    t.equal((await request(sb.port, '/async-function/guarded', { body: 'x', headers: { authorization: `Bearer ${ci}` } })).status, 202, 'with it: queued');
    const once = { body: 'x', headers: { authorization: `Bearer ${ci}`, 'idempotency-key': 'order-17' } };
    const first = await request(sb.port, '/async-function/guarded', once);
    const again = await request(sb.port, '/async-function/guarded', once);
    t.equal(again.status, 202, 'a repeat with the same Idempotency-Key: 202');
    t.equal(again.headers['x-call-id'], first.headers['x-call-id'], "with the first call's id");
    const keyed = String(first.headers['x-call-id']);
    await waitFor('the keyed call done', async () => (await doneLines(sb, 'guarded', [keyed])).length >= 1, 60000).catch(() => undefined);
    const ran = (await sb.faassctl('logs', 'guarded', '--lines', '5000')).stdout.split('\n').filter((l) => l.includes(`call=${keyed} function=guarded status=`));
    t.equal(ran.length, 1, 'and it ran once');
    const cli = await sb.faassctl('invoke', 'flaky', '--async', '-d', 'from the cli');
    t.equal(cli.code, 0, 'faassctl invoke --async');
    t.match(cli.stdout, /^[0-9a-f-]{36}\n$/, 'prints the call id');
  });

  t.test('a call that always fails ends in the dead letters; the calls behind it are delivered', async (t) => {
    t.equal((await sb.faassctl('deploy', 'poison', '--runtime', 'exec', '--from-file', writeFixture(sb, 'poison.sh', '#!/bin/sh\ncase "$Http_Path" in */bad) exit 1 ;; esac\necho fine\n', 0o755))).code, 0);
    const bad = (await request(sb.port, '/async-function/poison/bad', { body: 'x' })).headers['x-call-id'] as string;
    const good = [];
    for (let i = 0; i < 5; i++) good.push((await request(sb.port, `/async-function/poison/good${i}`, { body: 'x' })).headers['x-call-id'] as string);
    await waitFor('the bad call to be dead', async () => (await sb.faassctl('dlq', 'poison')).stdout.includes(bad), 60000).catch(() => undefined);
    const dlq = (await sb.faassctl('dlq', 'poison')).stdout;
    t.match(dlq, new RegExp(`^${bad}  queued \\S+  POST /bad  1 bytes$`, 'm'), 'faassctl dlq lists it');
    t.equal((dlq.match(/HTTP 500/g) ?? []).length, 3, 'with its three attempts, each answered 500');
    const root = (await sb.faassctl('credentials', 'add', 'root', '--admin')).stdout.trim();
    const viaApi = await request(sb.port, `/system/calls/${bad}`, { method: 'GET', headers: { authorization: `Bearer ${root}` } });
    t.equal(viaApi.status, 200, 'GET /system/calls/ID, as an admin');
    t.match(JSON.parse(viaApi.body), { id: bad, function: 'poison', state: 'dead' }, 'says it is dead');
    t.equal((await request(sb.port, `/system/calls/${bad}`, { method: 'GET' })).status, 401, 'and is the API: admins only');
    const done = await doneLines(sb, 'poison', good);
    for (const id of good) t.ok(done.some((l) => l.includes(`call=${id} function=poison attempt=1 status=200 done`)), `${id}, queued behind it, is delivered at once`);

    // Looked at, fixed, sent again: its attempts start over, and it is delivered.
    const shown = await sb.faassctl('dlq', 'poison', '--show', bad);
    t.equal(shown.code, 0, shown.stderr);
    t.match(shown.stdout, /^POST \/bad\n(.+\n)*x-call-id: \S+\n(.+\n)*\nx$/, '--show: its request as queued');
    const listed = await request(sb.port, '/system/dlq/poison', { method: 'GET', headers: { authorization: `Bearer ${root}` } });
    t.match(JSON.parse(listed.body), [{ id: bad, method: 'POST', path: '/bad' }], 'GET /system/dlq/NAME lists it');
    t.equal((await request(sb.port, '/system/dlq/poison/redrive', { body: '{"ids":["no/such"]}', headers: { authorization: `Bearer ${root}`, 'content-type': 'application/json' } })).status, 400, 'a bad id: 400');
    t.equal((await sb.faassctl('deploy', 'poison', '--runtime', 'exec', '--from-file', writeFixture(sb, 'fixed.sh', '#!/bin/sh\necho fixed\n', 0o755))).code, 0, 'the function is fixed');
    const redriven = await sb.faassctl('dlq', 'poison', '--redrive', bad);
    t.equal(redriven.code, 0, redriven.stderr);
    t.match(redriven.stdout, `Redrove 1 dead letter(s) of poison: ${bad}`);
    await waitFor('the redriven call done', async () => (await doneLines(sb, 'poison', [bad])).length >= 1, 60000).catch(() => undefined);
    t.ok((await doneLines(sb, 'poison', [bad])).some((l) => l.includes(`call=${bad} function=poison attempt=1 status=200 done`)), 'delivered, at attempt 1 again');
    t.match((await sb.faassctl('dlq', 'poison')).stdout, /^No dead letters for poison$/m, 'and out of the dead letters');
    const again = await sb.faassctl('dlq', 'poison', '--purge', bad);
    t.equal(again.code, 3, 'a call that is no dead letter (any more): exit 3');
    t.equal((await sb.faassctl('dlq', 'poison', '--redrive')).code, 2, '--redrive without ids or --all: exit 2');
  });

  t.test("a function's own retries and queue_max", async (t) => {
    t.equal((await sb.faassctl('deploy', 'once', '--runtime', 'exec', '--from-file', writeFixture(sb, 'fail.sh', '#!/bin/sh\nexit 1\n', 0o755), '--retries', '0', '--queue-max', '50')).code, 0);
    const id = String((await request(sb.port, '/async-function/once', { body: 'x' })).headers['x-call-id']);
    await waitFor('the call to be dead', async () => (await sb.faassctl('dlq', 'once')).stdout.includes(id), 60000).catch(() => undefined);
    t.equal(((await sb.faassctl('dlq', 'once')).stdout.match(/HTTP 500/g) ?? []).length, 1, '--retries 0: dead after its one attempt');
    // --timeout: the call that holds the one slot ends soon, so the delete after does not wait
    // for it to drain (the runner's stop waits for calls in flight).
    t.equal((await sb.faassctl('deploy', 'full', '--command', 'sh -c "sleep 30"', '--timeout', '4s', '--max-inflight', '1', '--queue-max', '2')).code, 0);
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push((await request(sb.port, '/async-function/full', { body: 'x' })).status);
    t.ok(answers.includes(429), `--queue-max 2: later calls refused with 429 (${answers.join(' ')})`);
    t.equal((await sb.faassctl('delete', 'full', '--discard')).code, 0);
  });

  t.test("deleting a function asks what becomes of its queue", async (t) => {
    t.equal((await sb.faassctl('deploy', 'busy', '--command', 'sh -c "sleep 1; echo done"', '--max-inflight', '1', '--idle', '5min')).code, 0);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await request(sb.port, '/async-function/busy', { body: 'x' })).headers['x-call-id'] as string);
    const refused = await sb.faassctl('delete', 'busy');
    t.equal(refused.code, 2, 'calls queued: a plain delete is refused');
    t.match(refused.stderr, /busy has \d queued call\(s\) and 0 dead letter\(s\): delete it with --drain/);
    t.equal((await sb.faassctl('describe', 'busy')).code, 0, 'and deleted nothing');
    const drained = await sb.faassctl('delete', 'busy', '--drain');
    t.equal(drained.code, 0, `--drain: ${drained.stderr}`);
    t.equal((await doneLines(sb, 'busy', ids)).length, 4, 'every queued call was delivered before the delete');
    t.equal((await request(sb.port, '/function/busy', { body: 'x' })).status, 404, 'then it was deleted');
    t.equal((await sb.faassctl('deploy', 'busy', '--command', 'sh -c "sleep 5; echo done"', '--max-inflight', '1')).code, 0);
    for (let i = 0; i < 3; i++) await request(sb.port, '/async-function/busy', { body: 'x' });
    const discarded = await sb.faassctl('delete', 'busy', '--discard');
    t.equal(discarded.code, 0, discarded.stderr);
    t.match(discarded.stdout, /Deleted busy \(with [1-3] queued call\(s\) dropped and 0 dead letter\(s\)\)/, '--discard says what it dropped');
    t.same(queueFiles(sb, 'busy'), [], 'and no queue is left for a function deployed later under the name');
  });

  t.test('a dispatcher killed mid-run loses nothing', async (t) => {
    t.equal((await sb.faassctl('deploy', 'slow', '--command', 'sh -c "sleep 2; echo slept"', '--idle', '5min')).code, 0);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await request(sb.port, '/async-function/slow', { body: 'x' })).headers['x-call-id'] as string);
    await waitFor('the dispatcher to run', async () => (await unitState(sb, 'faass-dispatch.service')) === 'active/running', 30000);
    const pid = Number((await sb.systemctl('show', 'faass-dispatch.service', '-p', 'MainPID', '--value')).stdout.trim());
    t.ok(pid > 0, 'the dispatcher runs');
    // Killed while a call runs (its `sleep 2` in the sandbox), not before it sent any: on a
    // loaded machine the dispatcher may be running a while before its first call starts.
    await waitFor("a call's sleep running", () => sandboxPids(sb).some((p) => comm(p) === 'sleep'), 60000);
    process.kill(pid, 'SIGKILL');
    await waitFor('8 calls done', async () => (await doneLines(sb, 'slow', ids)).length >= 8, 120000).catch(() => undefined);
    const done = await doneLines(sb, 'slow', ids);
    for (const id of ids) t.ok(done.some((l) => l.includes(`call=${id} `)), `${id} is delivered`);
    t.ok(done.some((l) => / attempt=2 status=200 done$/.test(l)), 'the calls in flight at the kill were delivered again, as attempt 2');
    t.same(queueFiles(sb, 'slow'), [], 'nothing is left in the queue');
  });
});

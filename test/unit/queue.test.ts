// The queue's pure parts: a call's file, what follows an attempt (issue 13).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeCall, decodeCall, entryName, isEntry, enqueue, waiting, readCall, writeState, readState, bury, deadList, rung, silence, functionQueue, redrive, purge, remove, sweepTemporary } from '../../src/queue/spool';
import { verdict, backoffMs, retryAfterMs, retryable } from '../../src/queue/retry';
import { resolvePaths } from '../../src/core/paths';
import { FaassError } from '../../src/core/errors';
import { callStatus, recordDone, forgetOld } from '../../src/queue/status';
import { enqueueOnce, forgetOldKeys } from '../../src/queue/idempotency';
import { settleQueue, queuePolicy, dropQueue, reopenQueue } from '../../src/queue/on-delete';
import { Dispatcher } from '../../src/queue/dispatcher';
import { deadLetters, deadCall } from '../../src/queue/dead-letters';
import { buildFunctionConfig, parseFunctionConfig, renderFunctionConfig } from '../../src/functions/function-config';

const call = { id: 'c0ffee00-0000-4000-8000-000000000001', name: 'fn', method: 'PUT', path: '/a?b=1', headers: { 'x-a': 'b' }, enqueuedAt: 1_700_000_000_000, body: Buffer.from([0, 10, 255, 13]) };

const plainCall = call;

t.test("a call's file: a JSON line, then the body byte for byte", async (t) => {
  const back = decodeCall(encodeCall(call));
  t.same(back, call, 'read back as written, binary body included');
  t.equal(decodeCall(Buffer.from('no newline at all')), null, 'a torn file is no call');
  t.equal(decodeCall(Buffer.from('{"id":1}\n')), null, 'nor one without its fields');
  const whole = encodeCall(call);
  t.equal(decodeCall(whole.subarray(0, whole.length - 1)), null, 'nor one cut short in its body (its line gives the length)');
  t.equal(decodeCall(Buffer.concat([whole, Buffer.from('x')])), null, 'nor one with more than its body');
  const { bytes: _b, ...old } = JSON.parse(whole.subarray(0, whole.indexOf(10)).toString()) as Record<string, unknown>;
  t.same(decodeCall(Buffer.concat([Buffer.from(JSON.stringify(old) + '\n'), call.body])), call, 'a file written before the length was kept is read as whole');
  t.equal(entryName(call), '1700000000000-c0ffee00-0000-4000-8000-000000000001');
  t.ok(isEntry(`${entryName(call)}.call`));
  t.notOk(isEntry(`.${entryName(call)}.call.123.tmp`), 'a temporary file is never a call');
});

t.test('after an attempt: done, retried later, or dead', async (t) => {
  const now = call.enqueuedAt + 1000;
  const half = () => 0.5; // no jitter
  t.same(verdict({ status: 200 }, 1, call.enqueuedAt, now, undefined, half), { then: 'done' }, 'an answer is the result');
  t.same(verdict({ status: 404 }, 1, call.enqueuedAt, now, undefined, half), { then: 'done' }, 'a 4xx too: not retried');
  t.same(verdict({ status: 503 }, 1, call.enqueuedAt, now, undefined, half), { then: 'retry', at: now + 1000 }, 'a 5xx: again in 1 s');
  t.same(verdict({ error: 'ECONNREFUSED' }, 2, call.enqueuedAt, now, undefined, half), { then: 'retry', at: now + 2000 }, 'no answer: again, the wait doubled');
  t.same(verdict({ status: 429, retryAfter: '30' }, 1, call.enqueuedAt, now, undefined, half), { then: 'retry', at: now + 30000 }, "429: not before the function's Retry-After");
  t.equal(verdict({ status: 500 }, 3, call.enqueuedAt, now).then, 'dead', 'out of attempts (3 = 1 + 2 retries)');
  t.equal(verdict({ status: 500 }, 1, call.enqueuedAt, call.enqueuedAt + 6 * 3600 * 1000, undefined, half).then, 'dead', 'too old at its next attempt');
  t.ok(retryable({ status: 504 }) && !retryable({ status: 302 }));
  t.equal(backoffMs(30, () => 0.5), 300000, 'the wait stops growing at 5 min');
  t.equal(backoffMs(1, () => 0), 500, 'jitter: from half');
  t.equal(backoffMs(1, () => 0.999), 1499, 'to one and a half');
  t.equal(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT')), 60000, 'Retry-After as a date');
  t.equal(retryAfterMs('soon', 0), 0, 'or nothing usable');
});

t.test('the spool on disk: queued whole, limited, buried with its history', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-queue-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_STATE_HOME: dir });
  await enqueue(p, call, 2);
  const second = { ...call, id: 'c0ffee00-0000-4000-8000-000000000002', enqueuedAt: call.enqueuedAt + 1 };
  await enqueue(p, second, 2);
  const full = await enqueue(p, { ...call, id: 'c0ffee00-0000-4000-8000-000000000003' }, 2).then(() => null, (e: FaassError) => e);
  t.equal(full?.code, 'FAASS_E_QUEUE_FULL', 'past queue_max: refused');
  const entries = await waiting(p, 'fn');
  t.same(entries, [`${entryName(call)}.call`, `${entryName(second)}.call`], 'oldest first, nothing half-written beside them');
  t.same(fs.readdirSync(functionQueue(p, 'fn')).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
  t.same(await rung(p), ['fn'], 'the doorbell rings');
  t.same(await readCall(p, 'fn', entries[0]), call);
  await writeState(p, 'fn', entries[0], { attempts: [{ n: 1, startedAt: 1, endedAt: 2, status: 500 }], nextAt: 0 });
  t.same((await readState(p, 'fn', entries[0])).attempts[0].status, 500);
  await bury(p, 'fn', entries[0]);
  const dead = await deadList(p, 'fn');
  t.equal(dead.length, 1, 'a dead letter');
  t.same(dead[0].state.attempts[0].status, 500, 'with its history');
  t.same(await waiting(p, 'fn'), [entries[1]], 'and out of the queue');
  await silence(p, 'fn');
  t.same(await rung(p), [], 'silenced');
});

t.test('a dead-letter listing reads each call\'s first line, never its body', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-dlq-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_STATE_HOME: dir });
  const dead = path.join(functionQueue(p, 'fn'), 'dead');
  fs.mkdirSync(dead, { recursive: true });
  const mk = (n: number, body: Buffer) => ({ ...call, id: `c0ffee00-0000-4000-8000-00000000010${n}`, enqueuedAt: call.enqueuedAt + n, body });
  // 10 MB, written whole; and one of 3 GiB, sparse: a file that large cannot even be read whole
  // (Node refuses buffers over 2 GiB), so only a listing that reads no body can list it.
  const big = mk(1, Buffer.alloc(10 * 1024 * 1024, 'b'));
  fs.writeFileSync(path.join(dead, `${entryName(big)}.call`), encodeCall(big));
  const huge = mk(2, Buffer.alloc(0));
  const line = encodeCall({ ...huge, body: Buffer.alloc(1) }).toString().split('\n')[0].replace('"bytes":1', `"bytes":${3 * 1024 ** 3}`);
  fs.writeFileSync(path.join(dead, `${entryName(huge)}.call`), line + '\n');
  fs.truncateSync(path.join(dead, `${entryName(huge)}.call`), line.length + 1 + 3 * 1024 ** 3);
  // A file cut short (its line says more than it holds), and one written before the length was kept.
  const cut = mk(3, Buffer.from('whole body'));
  fs.writeFileSync(path.join(dead, `${entryName(cut)}.call`), encodeCall(cut).subarray(0, -4));
  const old = mk(4, Buffer.from('abc'));
  const { bytes: _b, ...oldLine } = JSON.parse(encodeCall(old).toString().split('\n')[0]) as Record<string, unknown>;
  fs.writeFileSync(path.join(dead, `${entryName(old)}.call`), `${JSON.stringify(oldLine)}\nabc`);
  fs.writeFileSync(path.join(dead, `${entryName(big)}.state`), JSON.stringify({ attempts: [{ n: 1, startedAt: 1, endedAt: 2, status: 503 }], nextAt: 0 }));

  const listed = await deadLetters(p, 'fn');
  t.same(
    listed.map((d) => [d.id, d.bytes]),
    [
      [big.id, 10 * 1024 * 1024],
      [huge.id, 3 * 1024 ** 3],
      [null, undefined],
      [old.id, 3],
    ],
    'each listed with its size from its first line (or, for an old file, its size past the line); a cut file as no call',
  );
  t.match(listed[0], { method: 'PUT', path: '/a?b=1', attempts: [{ status: 503 }] }, 'with its request line and history');
  t.same((await deadCall(p, 'fn', big.id)).body.length, 10 * 1024 * 1024, '--show reads the one body asked for, whole');
  t.same((await deadCall(p, 'fn', old.id)).body.toString(), 'abc');
  await t.rejects(deadCall(p, 'fn', cut.id), { code: 'FAASS_E_CALL_NOT_FOUND' }, 'a cut file is no dead letter to show');
});

t.test("a call's status, from the spool's files", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-status-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_STATE_HOME: dir });
  t.equal(await callStatus(p, call.id), null, 'never queued: none');
  t.equal(await callStatus(p, '../etc'), null, 'an id that is no call id: none, and no path made of it');
  await enqueue(p, call, 10);
  const entry = `${entryName(call)}.call`;
  t.match(await callStatus(p, call.id), { state: 'queued', function: 'fn', attempts: [] }, 'queued');
  await writeState(p, 'fn', entry, { attempts: [{ n: 1, startedAt: 5 }], nextAt: 0 });
  t.match(await callStatus(p, call.id), { state: 'running' }, 'an attempt under way: running');
  await writeState(p, 'fn', entry, { attempts: [{ n: 1, startedAt: 5, endedAt: 6, status: 503 }], nextAt: 10_000 });
  t.match(await callStatus(p, call.id, 9_000), { state: 'retrying', nextAt: new Date(10_000).toISOString() }, 'retrying, and when');
  t.match(await callStatus(p, call.id, 11_000), { state: 'queued' }, 'due again: queued');
  await bury(p, 'fn', entry);
  t.match(await callStatus(p, call.id), { state: 'dead', attempts: [{ status: 503 }] }, 'dead');
  const other = { ...call, id: 'c0ffee00-0000-4000-8000-00000000000d' };
  await recordDone(p, 'fn', other.id, 201, { attempts: [{ n: 1, startedAt: 1, endedAt: 2, status: 201 }], nextAt: 0 });
  t.match(await callStatus(p, other.id), { state: 'done', status: 201 }, 'done, with its status');
  t.equal(await forgetOld(p, 'fn', Date.now() + 25 * 3600 * 1000), 1, 'forgotten after 24 h');
  t.equal(await callStatus(p, other.id), null);
});

t.test('Idempotency-Key: one call per key and function, also when requests race', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-keys-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_STATE_HOME: dir });
  const mk = (n: number, name = 'fn') => ({ ...call, name, id: `c0ffee00-0000-4000-8000-${String(n).padStart(12, '0')}`, enqueuedAt: call.enqueuedAt + n });
  t.equal(await enqueueOnce(p, mk(1), 100, 'order-17'), mk(1).id, 'the first: queued');
  t.equal(await enqueueOnce(p, mk(2), 100, 'order-17'), mk(1).id, "a repeat: the first one's id");
  t.equal((await waiting(p, 'fn')).length, 1, 'and nothing more queued');
  t.equal(await enqueueOnce(p, mk(3, 'other'), 100, 'order-17'), mk(3).id, 'the same key for another function is another call');
  const raced = await Promise.all([10, 11, 12, 13, 14, 15].map((n) => enqueueOnce(p, mk(n), 100, 'race')));
  t.equal(new Set(raced).size, 1, 'six racing requests with one key: one id');
  t.equal((await waiting(p, 'fn')).length, 2, 'and one call');
  // A claim whose call never reached the disk (a crash between): taken over, never a lost call.
  const keyDir = path.join(functionQueue(p, 'fn'), 'keys');
  const stale = fs.readdirSync(keyDir).find((f) => fs.readFileSync(path.join(keyDir, f), 'utf8').startsWith(mk(1).id)) as string;
  fs.writeFileSync(path.join(keyDir, stale), `c0ffee00-0000-4000-8000-00000000dead ${Date.now() - 120_000}\n`); // two minutes old
  t.equal(await enqueueOnce(p, mk(20), 100, 'order-17'), mk(20).id, 'a stale claim: the call is queued anew');
  const bad = await enqueueOnce(p, mk(21), 100, 'new\nline').then(() => null, (e: FaassError) => e);
  t.equal(bad?.code, 'FAASS_E_USAGE', 'a key with a control character is refused');
  t.equal(await forgetOldKeys(p, 'fn', Date.now() + 25 * 3600 * 1000), 2, 'keys are forgotten after 24 h');
});

t.test('dead letters: redriven with their attempts forgotten, or purged', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-dlq-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_STATE_HOME: dir });
  const mk = (n: number) => ({ ...call, id: `c0ffee00-0000-4000-8000-${String(n).padStart(12, '0')}`, enqueuedAt: call.enqueuedAt + n });
  for (const n of [1, 2, 3]) {
    await enqueue(p, mk(n), 100);
    await writeState(p, 'fn', `${entryName(mk(n))}.call`, { attempts: [{ n: 1, startedAt: 1, endedAt: 2, status: 500 }], nextAt: 0 });
    await bury(p, 'fn', `${entryName(mk(n))}.call`);
  }
  await silence(p, 'fn');
  t.same(await redrive(p, 'fn', [mk(2).id, 'c0ffee00-0000-4000-8000-0000000000ff']), { done: [mk(2).id], missing: ['c0ffee00-0000-4000-8000-0000000000ff'] }, 'one redriven, one unknown');
  t.same(await waiting(p, 'fn'), [`${entryName(mk(2))}.call`], 'back in the queue');
  t.same((await readState(p, 'fn', `${entryName(mk(2))}.call`)).attempts, [], 'its attempts forgotten');
  t.same(await rung(p), ['fn'], 'the doorbell rings');
  t.same((await purge(p, 'fn', undefined)).done, [mk(1).id, mk(3).id], '--all: the rest purged');
  t.same(await deadList(p, 'fn'), [], 'none left');
});

t.test("deleting a function: its queue is never lost silently", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-ondelete-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_STATE_HOME: dir });
  t.same(await settleQueue(p, 'fn', 'refuse'), { discarded: 0, dead: 0, callbacks: 0 }, 'nothing queued: nothing to ask');
  await reopenQueue(p, 'fn'); // (that delete failed: the queue takes calls again)
  await enqueue(p, call, 10);
  const refused = await settleQueue(p, 'fn', 'refuse').then(() => null, (e: FaassError) => e);
  t.equal(refused?.code, 'FAASS_E_QUEUE_NOT_EMPTY', 'a call queued: refused unless told');
  t.match(refused?.message, /fn has 1 queued call\(s\) and 0 dead letter\(s\): delete it with --drain .* or --discard/);
  t.equal((await waiting(p, 'fn')).length, 1, 'and the call is still there');
  const late = await settleQueue(p, 'fn', 'drain', 300).then(() => null, (e: FaassError) => e);
  t.match(late?.message, /still has 1 queued call\(s\) after 0s of draining; nothing was deleted/, 'a drain that does not end in time: refused');
  // The dispatcher delivers it while the drain waits.
  setTimeout(() => fs.rmSync(path.join(functionQueue(p, 'fn'), `${entryName(call)}.call`)), 300);
  t.same(await settleQueue(p, 'fn', 'drain', 10000), { discarded: 0, dead: 0, callbacks: 0 }, 'drained: nothing dropped');
  await reopenQueue(p, 'fn');
  await enqueue(p, call, 10);
  t.same(await settleQueue(p, 'fn', 'discard'), { discarded: 1, dead: 0, callbacks: 0 }, 'discard: dropped, and counted');
  const afterClose = await enqueue(p, { ...call, id: 'c0ffee00-0000-4000-8000-00000000beef' }, 10).then(() => null, (e: FaassError) => e);
  t.equal(afterClose?.code, 'FAASS_E_FUNCTION_NOT_FOUND', 'a call queued while the delete runs is taken back out');
  t.equal((await waiting(p, 'fn')).length, 1, 'and not left in the queue');
  await dropQueue(p, 'fn');
  t.notOk(fs.existsSync(functionQueue(p, 'fn')), "the queue's directory goes with the function");
  t.same(await rung(p), [], 'and its doorbell');
  t.throws(() => queuePolicy('later'), /Invalid queue policy "later"/);
});

t.test("a function's queue settings: retries, retry_max_age, queue_max", async (t) => {
  const plain = buildFunctionConfig('fn', { runtime: 'exec', command: 'cat' });
  t.same([plain.retries, plain.retryMaxAge, plain.queueMax], [2, 21600, 10000], 'defaults: 2 retries, 6 h, 10000');
  t.notMatch(renderFunctionConfig(plain), /retries|retry_max_age|queue_max/, 'defaults are not written: older files read the same');
  const set = buildFunctionConfig('fn', { runtime: 'exec', command: 'cat', retries: '0', retry_max_age: '30min', queue_max: '5' });
  t.same([set.retries, set.retryMaxAge, set.queueMax], [0, 1800, 5], 'a time span for retry_max_age');
  t.same(parseFunctionConfig('fn', renderFunctionConfig(set)), set, 'written and read back');
  t.throws(() => buildFunctionConfig('fn', { runtime: 'exec', command: 'cat', retries: '-1' }), /retries/);
  t.throws(() => buildFunctionConfig('fn', { runtime: 'exec', command: 'cat', retry_max_age: '3x' }), /"3x"/);
  t.throws(() => buildFunctionConfig('fn', { runtime: 'exec', command: 'cat', queue_max: '0' }), /queue_max/);
  t.same(verdict({ status: 500 }, 1, 0, 1, { retries: 0, maxAgeMs: 1000 }), { then: 'dead', why: '1 attempts failed' }, 'retries=0: dead at the first failure');
  t.equal(verdict({ status: 500 }, 1, 0, 1, { retries: 5, maxAgeMs: 1000 }, () => 0.5).then, 'dead', 'past retry_max_age at the next attempt: dead');
});

t.test('what the review found: concurrent doorbells, busy functions, redrive age, young key claims', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-review-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_STATE_HOME: dir });
  const mk = (n: number) => ({ ...call, id: `c0ffee00-0000-4000-8000-${String(n).padStart(12, '0')}`, enqueuedAt: call.enqueuedAt + n });
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => enqueue(p, mk(100 + i), 1000).then(() => 'ok', (e: FaassError) => e.code)));
  t.same(results.filter((r) => r !== 'ok'), [], '20 calls queued at once to an idle function: every one answered as queued (they shared a doorbell temp name: 503s)');
  t.same(await rung(p), ['fn'], 'one doorbell');
  t.same(fs.readdirSync(path.join(p.stateDir, 'queue', '.ready')), ['fn'], 'and nothing hidden beside it');
  // 429 (busy) and a refused socket: never taken, they count toward age, not attempts.
  const busy = { status: 429, notStarted: true };
  t.equal(verdict(busy, 0, 0, 1000, { retries: 0, maxAgeMs: 3600000 }, () => 0.5, 5).then, 'retry', 'busy five times, retries=0: still retried');
  t.equal(verdict(busy, 0, 0, 3600000, { retries: 0, maxAgeMs: 3600000 }, () => 0.5, 5).then, 'dead', 'but not past its age');
  // A redriven call's age starts again.
  await bury(p, 'fn', `${entryName(mk(100))}.call`);
  await redrive(p, 'fn', [mk(100).id]);
  const st = await readState(p, 'fn', `${entryName(mk(100))}.call`);
  t.ok(st.since !== undefined && Date.now() - (st.since as number) < 60000, 'redriven: its age counts from now');
  // A young claim whose call is not on disk yet: the second request waits for it, never takes over.
  const keyDir = path.join(functionQueue(p, 'fn'), 'keys');
  fs.mkdirSync(keyDir, { recursive: true });
  const { createHash } = await import('node:crypto');
  fs.writeFileSync(path.join(keyDir, createHash('sha256').update('young').digest('hex')), `${mk(200).id} ${Date.now()}\n`);
  const second = enqueueOnce(p, mk(201), 1000, 'young');
  setTimeout(() => void enqueue(p, mk(200), 1000), 200); // the first request's call lands
  t.equal(await second, mk(200).id, "the second answers the first's id");
  t.notOk((await waiting(p, 'fn')).includes(`${entryName(mk(201))}.call`), 'and queued nothing');
});

t.test('queue_max holds under racing enqueues, and counts again when calls leave', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-qmax-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_STATE_HOME: dir });
  const mk = (n: number) => ({ ...call, id: `c0ffee00-0000-4000-8000-${String(n).padStart(12, '0')}`, enqueuedAt: call.enqueuedAt + n });
  const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => enqueue(p, mk(i), 10).then(() => 'queued', (e: FaassError) => e.code)));
  t.equal((await waiting(p, 'fn')).length, 10, '60 racing enqueues into a queue_max of 10: exactly 10 queued');
  t.equal(outcomes.filter((o) => o === 'queued').length, 10, 'and 10 answered queued');
  t.equal(outcomes.filter((o) => o === 'FAASS_E_QUEUE_FULL').length, 50, 'the other 50 refused as full (429)');
  t.equal(new FaassError('FAASS_E_QUEUE_FULL', 'x').status, 429);
  // The dispatcher takes 3 out (another process): room for exactly 3 more, racing again.
  for (const entry of (await waiting(p, 'fn')).slice(0, 3)) await remove(p, 'fn', entry);
  const again = await Promise.all(Array.from({ length: 20 }, (_, i) => enqueue(p, mk(100 + i), 10).then(() => 'queued', (e: FaassError) => e.code)));
  t.equal(again.filter((o) => o === 'queued').length, 3, 'three taken out: three more queued');
  t.equal((await waiting(p, 'fn')).length, 10, 'and the queue holds 10 again');
});

t.test('temporary files a crash left are swept after an hour; calls never', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-sweep-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_STATE_HOME: dir });
  await enqueue(p, call, 10);
  const q = functionQueue(p, 'fn');
  fs.writeFileSync(path.join(q, '.torn.call.1.ab.tmp'), 'half');
  fs.writeFileSync(path.join(p.stateDir, 'queue', '.ready', '.fn.1.cd.tmp'), '');
  t.equal(await sweepTemporary(p, 'fn'), 0, 'young: kept (a write may be under way)');
  t.equal(await sweepTemporary(p, 'fn', Date.now() + 2 * 3600 * 1000), 2, 'two hours on: both swept');
  t.same(await waiting(p, 'fn'), [`${entryName(call)}.call`], 'the call stays');
  t.same(fs.readdirSync(q).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
});

t.test('a call whose result was recorded as its dispatcher died is not delivered again', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-died-done-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_STATE_HOME: dir });
  const call = { ...plainCall, enqueuedAt: Date.now() }; // young: retried, were it not done
  await enqueue(p, call, 10);
  const entry = `${entryName(call)}.call`;
  // Killed between its done record and removing the call: both are on disk, the attempt unfinished.
  const state = { attempts: [{ n: 1, startedAt: 1 }], nextAt: 0 };
  await writeState(p, 'fn', entry, state);
  await recordDone(p, 'fn', call.id, 200, { attempts: [{ n: 1, startedAt: 1, endedAt: 2, status: 200 }], nextAt: 0 });
  const sent: number[] = [];
  await new Dispatcher(p, async (_p, _c, attempt) => (sent.push(attempt), { status: 200 })).run();
  t.same(sent, [], 'the next dispatcher does not deliver it again');
  t.same(await waiting(p, 'fn'), [], 'it removes it from the queue');
  t.match(await callStatus(p, call.id), { state: 'done', status: 200 }, 'and it stays done');
  t.same(await deadList(p, 'fn'), [], 'nothing in the dead letters');
});

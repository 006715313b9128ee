// The queue on disk under faults (issue 13, "Back-pressure and faults"), as an ordinary user, as
// faass runs on a real host: a full disk (a small tmpfs over a function's queue directory, filled by
// async calls until the gateway answers 503), corrupt and truncated entries, a redeploy while calls
// wait.
// Full disk: the sandbox's manager runs in a mount namespace of its own (systemd-user.sh), and each unit gets
// a copy of it when it starts: the tmpfs is mounted in the manager's namespace (nsenter) before the
// gateway and the dispatcher start, and read through /proc/MANAGER/root (the host's view of the
// directory is the disk below the mount).
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startSandbox, setupGateway, request, writeFixture, waitFor, unitState, errorCode, TEST_USER, Sandbox } from '../support/sandbox';

// A name of this run's own: the journal is the test user's, shared with earlier runs and other
// sandboxes, and the test reads every line of its function to see that no other call came.
const FN = `sink-${randomBytes(3).toString('hex')}`;
const BODY = 60 * 1024; // a call's file: ~16 pages of the tmpfs
// The function says, on stderr (its journal), which call it got and how many bytes came.
const SINK = '#!/bin/sh\nn=$(wc -c)\necho "got $Http_X_Call_Id $n" >&2\necho ok\n';

const managerPid = (sb: Sandbox) => Number(fs.readFileSync(path.join(sb.dir, 'manager.pid'), 'utf8').trim());
const inManagerNs = (sb: Sandbox, args: string[]) => execFileSync('nsenter', ['-t', String(managerPid(sb)), '-m', '--', ...args], { encoding: 'utf8' });

// The journal lines of NAME matching re (faassctl logs reads the sandbox's journal).
const lines = async (sb: Sandbox, name: string, re: RegExp): Promise<string[]> => (await sb.faassctl('logs', name, '--lines', '5000')).stdout.split('\n').filter((l) => re.test(l));

t.test('the queue on disk, under faults', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 60);

  t.test('a full disk answers 503, leaves nothing behind, and every call answered 202 is delivered once space is freed', async (t) => {
    t.equal((await sb.faassctl('deploy', FN, '--runtime', 'exec', '--from-file', writeFixture(sb, 'sink.sh', SINK, 0o755), '--max-inflight', '2', '--idle', '5min')).code, 0);
    // Calls wait while the disk fills: the dispatcher would otherwise make room as it went.
    t.equal((await sb.systemctl('stop', 'faass-dispatch.path', 'faass-dispatch.service', 'faass-gateway.service')).code, 0);

    const queue = path.join(sb.env.XDG_STATE_HOME as string, 'faass', 'queue', FN);
    const uid = execFileSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', TEST_USER], { encoding: 'utf8' }).trim();
    fs.mkdirSync(queue, { recursive: true, mode: 0o700 });
    for (let d = queue; d !== path.dirname(sb.env.XDG_STATE_HOME as string); d = path.dirname(d)) fs.chownSync(d, Number(uid), Number(gid));
    inManagerNs(sb, ['mount', '-t', 'tmpfs', '-o', `size=1m,uid=${uid},gid=${gid},mode=0700`, 'faass-test-queue', queue]);
    t.teardown(() => inManagerNs(sb, ['umount', queue]));
    const onTmpfs = path.join(`/proc/${managerPid(sb)}/root`, queue); // the queue as the units see it
    const listing = () => fs.readdirSync(onTmpfs).sort();
    // Half the disk taken by something else, freed later.
    fs.writeFileSync(path.join(onTmpfs, 'ballast'), Buffer.alloc(512 * 1024));

    const accepted: string[] = [];
    let refused: { status: number; body: string } | null = null;
    for (let i = 0; i < 40 && !refused; i++) {
      const r = await request(sb.port, `/async-function/${FN}`, { body: Buffer.alloc(BODY, 'a') });
      if (r.status === 202) accepted.push(r.headers['x-call-id'] as string);
      else refused = r;
    }
    t.ok(accepted.length > 0, `calls were accepted while there was room (${accepted.length})`);
    t.equal(refused?.status, 503, 'then the gateway answered 503');
    t.equal(errorCode(refused?.body ?? ''), 'FAASS_E_QUEUE_UNAVAILABLE');
    t.match(refused?.body ?? '', /the disk is full/, 'saying the disk is full');
    const keyed = await request(sb.port, `/async-function/${FN}`, { body: Buffer.alloc(BODY, 'a'), headers: { 'idempotency-key': 'order-1' } });
    t.equal(keyed.status, 503, 'a call with an Idempotency-Key too');
    t.equal(errorCode(keyed.body), 'FAASS_E_QUEUE_UNAVAILABLE');
    const calls = listing().filter((f) => f.endsWith('.call'));
    t.same(calls.map((f) => f.slice(14, -'.call'.length)).sort(), [...accepted].sort(), 'the queue holds exactly the calls answered 202');
    t.same(listing().filter((f) => !f.endsWith('.call') && !['ballast', 'keys'].includes(f)), [], 'the 503s left no temporary file');
    t.same(fs.existsSync(path.join(onTmpfs, 'keys')) ? fs.readdirSync(path.join(onTmpfs, 'keys')) : [], [], 'nor a claim of their key (the key is free for a later try)');

    // The dispatcher starts on a disk full to the last byte: it cannot record an attempt, so it
    // waits for space, saying so, instead of spinning.
    try {
      fs.writeFileSync(path.join(onTmpfs, 'filler'), Buffer.alloc(1024 * 1024));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
    }
    t.equal((await sb.systemctl('start', 'faass-dispatch.path')).code, 0);
    const full = /faass-dispatch\[\d+\]: .*(disk is full|ENOSPC)/;
    await waitFor('the dispatcher to find the disk full', async () => (await lines(sb, FN, full)).length > 0, 60000);

    fs.rmSync(path.join(onTmpfs, 'filler'));
    fs.rmSync(path.join(onTmpfs, 'ballast'));
    const done = (id: string) => new RegExp(`faass-dispatch\\[\\d+\\]: async call=${id} function=${FN} attempt=\\d+ status=200 done$`);
    await waitFor(`the ${accepted.length} calls done`, async () => {
      const l = await lines(sb, FN, / done$/);
      return accepted.every((id) => l.some((x) => done(id).test(x)));
    }, 120000).catch(() => undefined);
    const doneLines = await lines(sb, FN, / done$/);
    t.same(accepted.filter((id) => !doneLines.some((l) => done(id).test(l))), [], 'once space is freed, every call answered 202 is delivered');
    const got = (await lines(sb, FN, / got \S+ \d+$/)).map((l) => / got (\S+) (\d+)$/.exec(l) as RegExpExecArray);
    t.same(got.map((m) => m[1]).sort(), [...accepted].sort(), 'the function saw those calls, once each, and no other (no partial entry)');
    t.same(got.filter((m) => Number(m[2]) !== BODY).map((m) => `${m[1]}: ${m[2]} bytes`), [], `each with its whole body (${BODY} bytes)`);
    const said = await lines(sb, FN, full);
    t.equal(said.length, 1, `the dispatcher said once that the disk was full, and did not spin (${said.length} lines: ${said.slice(0, 2).join(' | ')})`);
    await waitFor('the dispatcher to exit', async () => (await unitState(sb, 'faass-dispatch.service')).startsWith('inactive'), 60000).catch(() => undefined);
    t.same(listing().filter((f) => f.endsWith('.call') || f.endsWith('.tmp')), [], 'and the queue is empty');
  });

  t.test('a corrupt or truncated entry is moved aside with a log line; the good calls around it are delivered', async (t) => {
    const fn = `keep-${randomBytes(3).toString('hex')}`;
    const queue = path.join(sb.env.XDG_STATE_HOME as string, 'faass', 'queue', fn);
    t.equal((await sb.faassctl('deploy', fn, '--runtime', 'exec', '--from-file', writeFixture(sb, 'keep.sh', SINK, 0o755), '--idle', '5min')).code, 0);
    t.equal((await sb.systemctl('stop', 'faass-dispatch.path')).code, 0, 'calls wait while the queue is tampered with');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await request(sb.port, `/async-function/${fn}`, { body: Buffer.alloc(BODY, 'a') })).headers['x-call-id'] as string);
    const entry = (id: string) => fs.readdirSync(queue).find((f) => f.endsWith(`-${id}.call`)) as string;
    // Two of them damaged as a disk or a hand might: cut in its body, cut in its first line.
    const [cutBody, cutHead] = [ids[1], ids[3]];
    fs.truncateSync(path.join(queue, entry(cutBody)), Math.floor(fs.statSync(path.join(queue, entry(cutBody))).size / 2));
    fs.truncateSync(path.join(queue, entry(cutHead)), 20);
    const garbage = `${entry(ids[4]).slice(0, 13)}-garbage.call`; // among the good ones, by its stamp
    fs.writeFileSync(path.join(queue, garbage), randomBytes(4096));
    fs.chownSync(path.join(queue, garbage), fs.statSync(queue).uid, fs.statSync(queue).gid);
    const bad = [entry(cutBody), entry(cutHead), garbage];
    const good = ids.filter((id) => id !== cutBody && id !== cutHead);

    t.equal((await sb.systemctl('start', 'faass-dispatch.path')).code, 0);
    await waitFor('the queue to drain', () => !fs.readdirSync(queue).some((f) => f.endsWith('.call')), 60000).catch(() => undefined);
    await waitFor('the dispatcher to exit', async () => (await unitState(sb, 'faass-dispatch.service')).startsWith('inactive'), 60000).catch(() => undefined);
    t.match(await unitState(sb, 'faass-dispatch.service'), /^inactive\//, 'the dispatcher drained the queue and exited: nothing loops on the bad entries');
    const done = await lines(sb, fn, / done$/);
    t.same(good.filter((id) => !done.some((l) => l.includes(`async call=${id} function=${fn} attempt=1 status=200 done`))), [], 'every good call is delivered, at its first attempt');
    const got = (await lines(sb, fn, / got \S+ \d+$/)).map((l) => / got (\S+) (\d+)$/.exec(l) as RegExpExecArray);
    t.same(got.map((m) => m[1]).sort(), [...good].sort(), 'the function saw the good calls only (none of the damaged ones, not even cut short)');
    t.same(got.filter((m) => Number(m[2]) !== BODY).map((m) => `${m[1]}: ${m[2]} bytes`), [], 'each whole');
    t.same(fs.readdirSync(path.join(queue, 'dead')).filter((f) => f.endsWith('.corrupt')).sort(), bad.map((f) => `${f}.corrupt`).sort(), 'the bad entries are in its dead letters, as ENTRY.corrupt');
    const said = await lines(sb, fn, /is not a call faass wrote/);
    t.same(bad.map((f) => said.filter((l) => l.includes(`Queue entry ${f} of ${fn} is not a call faass wrote: moved to its dead letters as ${f}.corrupt`)).length), [1, 1, 1], 'one journal line each');
    t.same(fs.readdirSync(queue).filter((f) => f.endsWith('.call') || f.endsWith('.state')), [], 'nothing of them is left in the queue');
  });

  t.test('a redeploy while calls wait delivers them to the new code', async (t) => {
    const fn = `redo-${randomBytes(3).toString('hex')}`;
    const code = (v: string) => `#!/bin/sh\ncat >/dev/null\necho "${v} got $Http_X_Call_Id" >&2\necho ${v}\n`;
    t.equal((await sb.faassctl('deploy', fn, '--runtime', 'exec', '--from-file', writeFixture(sb, 'v1.sh', code('v1'), 0o755), '--idle', '5min')).code, 0);
    const warm = await request(sb.port, `/function/${fn}`, { body: 'x' });
    t.equal(warm.body.trim(), 'v1', 'the old code answers, and its runner stays (idle 5 min)');
    t.equal((await sb.systemctl('stop', 'faass-dispatch.path')).code, 0, 'calls wait');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await request(sb.port, `/async-function/${fn}`, { body: `call ${i}` });
      t.equal(r.status, 202);
      ids.push(r.headers['x-call-id'] as string);
    }
    t.equal((await sb.faassctl('deploy', fn, '--runtime', 'exec', '--from-file', writeFixture(sb, 'v2.sh', code('v2'), 0o755), '--idle', '5min')).code, 0, 'redeployed with new code');
    t.equal((await sb.systemctl('start', 'faass-dispatch.path')).code, 0);
    const done = (l: string[]) => ids.filter((id) => l.some((x) => x.includes(`async call=${id} function=${fn} attempt=`) && x.endsWith(' done')));
    await waitFor('the calls done', async () => done(await lines(sb, fn, / done$/)).length === ids.length, 60000).catch(() => undefined);
    t.same(done(await lines(sb, fn, / done$/)), ids, 'none lost: every call is done');
    const ran = await lines(sb, fn, / v\d got \S+$/);
    t.same(ids.filter((id) => !ran.some((l) => l.endsWith(`v2 got ${id}`))), [], 'each answered by the new code');
    t.same(ran.filter((l) => ids.some((id) => l.endsWith(`v1 got ${id}`))), [], 'none by the old');
  });
});

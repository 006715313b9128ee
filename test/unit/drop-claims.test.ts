// File drops claimed for real in a temporary directory (queue/drop-fire.ts runDrop, no systemd):
// the odd files a watched directory can hold each end somewhere (a call, or failed/) and never
// stop the drop, which would otherwise leave every later file unclaimed. And a file whose call
// died, redriven: the dispatcher (in-process, a fake function) and the drop's runs move it from
// failed/ to done/ when the call then succeeds, and leave it in failed/ when it fails again.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { resolvePaths, functionConfPath } from '../../src/core/paths';
import { buildFunctionConfig, renderFunctionConfig } from '../../src/functions/function-config';
import { saveFileDrops } from '../../src/functions/schedules';
import { buildFileDrop } from '../../src/functions/file-drops';
import { runDrop, areaDir, inFlightName, parseInFlight } from '../../src/queue/drop-fire';
import { waiting, readCall, deadList, redrive } from '../../src/queue/spool';
import { inboxOf } from '../../src/functions/outbox';
import { Dispatcher } from '../../src/queue/dispatcher';
import { deadLetters } from '../../src/queue/dead-letters';
import { Outcome } from '../../src/queue/retry';

function setup(t: { teardown(f: () => void): void }, fn: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-drops-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_DATA_HOME: path.join(dir, 'data') });
  const watch = path.join(dir, 'in');
  fs.mkdirSync(watch);
  fs.mkdirSync(path.dirname(functionConfPath(p, 'fn')), { recursive: true });
  fs.writeFileSync(functionConfPath(p, 'fn'), renderFunctionConfig(buildFunctionConfig('fn', { runtime: 'exec', command: 'cat', ...fn })));
  const drop = buildFileDrop('1', { watch, chain_limit: '3' });
  saveFileDrops(p, 'fn', [drop]);
  return { p, watch, drop };
}

// The files the drop's calls name (event.name), read back as the dispatcher reads them.
async function queuedNames(p: ReturnType<typeof resolvePaths>): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  for (const entry of await waiting(p, 'fn')) {
    const call = await readCall(p, 'fn', entry);
    out.push(call ? (JSON.parse(call.body.toString()) as { name: string }).name : null);
  }
  return out.sort();
}

t.test('a file last changed before 1970 is queued as a call the dispatcher can read', async (t) => {
  const { p, watch } = setup(t);
  const file = path.join(watch, 'old.txt');
  fs.writeFileSync(file, 'from an old archive');
  execFileSync('touch', ['-d', '@-86400', file]); // fs.utimes takes a time before 1970 as now
  t.ok(fs.lstatSync(file).mtimeMs < 0);
  const r = await runDrop(p, 'fn', '1');
  t.equal(r?.claimed, 1);
  t.same(await queuedNames(p), ['old.txt'], 'its call reads back (it is not set aside as corrupt)');
});

t.test('a claim that turns out not to be a regular file (swapped in after the check) goes to failed/', async (t) => {
  const { p, watch, drop } = setup(t);
  await runDrop(p, 'fn', '1'); // makes the area
  // What the claim rename leaves when a file is swapped for these between lstat and rename.
  const processing = areaDir(drop, 'processing');
  fs.mkdirSync(path.join(processing, '1-1-dir.new'));
  fs.symlinkSync('/etc/passwd', path.join(processing, '2-1-link.new'));
  execFileSync('mkfifo', [path.join(processing, '3-1-fifo.new')]); // its open would wait for a writer
  fs.writeFileSync(path.join(watch, 'after.txt'), 'z');
  const r = await runDrop(p, 'fn', '1');
  t.ok(r, 'the run ends (it does not fail again at every start)');
  t.same(fs.readdirSync(processing).filter((n) => !n.endsWith('after.txt')), [], 'nothing of theirs left in processing/');
  t.same(fs.readdirSync(areaDir(drop, 'failed')).sort(), ['1-1-dir', '2-1-link', '3-1-fifo']);
  t.same(await queuedNames(p), ['after.txt'], 'no call for them; later files still claimed');
});

t.test('a name that is not UTF-8 goes to failed/ and does not stay in the directory', async (t) => {
  const { p, watch, drop } = setup(t);
  const bad = Buffer.concat([Buffer.from(watch + '/bad'), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]);
  fs.writeFileSync(bad, 'x');
  fs.writeFileSync(path.join(watch, 'good.txt'), 'y');
  const r = await runDrop(p, 'fn', '1');
  t.equal(r?.refused, 1, 'refused, with a journal line');
  t.same(fs.readdirSync(watch).filter((n) => n !== '.faass'), [], 'nothing left for the path unit to start the service for again');
  t.equal(fs.readdirSync(areaDir(drop, 'failed')).length, 1, 'kept in failed/');
  t.same(await queuedNames(p), ['good.txt']);
});

// What the drop queued: each call's file name and chain depth.
async function queuedDepths(p: ReturnType<typeof resolvePaths>): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await waiting(p, 'fn')) {
    const call = await readCall(p, 'fn', entry);
    if (call) out.push(`${(JSON.parse(call.body.toString()) as { name: string }).name}@${call.headers['x-faass-chain-depth']}`);
  }
  return out.sort();
}

// A closed outbox as the runner leaves it (runner/outboxes.ts).
function outbox(watch: string, name: string, files: Record<string, string>): string {
  const dir = path.join(inboxOf(watch), name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), content);
  return dir;
}

t.test('in-flight claim names keep the depth, and a dropped file named like one is not mistaken', async (t) => {
  t.equal(inFlightName('a-b-x', 1), 'a-b-x.new');
  t.same(parseInFlight(inFlightName('a-b-x', 3)), { entry: 'a-b-x', depth: 3 });
  t.same(parseInFlight(inFlightName('a-b-x.new-3', 1)), { entry: 'a-b-x.new-3', depth: 1 }, 'a file named x.new-3 dropped into DIR');
  t.equal(parseInFlight('a-b-x'), null);
});

t.test("a closed outbox's files are calls one link deeper; the outbox goes; an open one is left alone", async (t) => {
  const { p, watch } = setup(t);
  await runDrop(p, 'fn', '1');
  const closed = outbox(watch, '2-call1', { 'out.txt': 'next' });
  const open = outbox(watch, '.open-2-call2', { 'half.txt': 'still being written' });
  const r = await runDrop(p, 'fn', '1');
  t.equal(r?.claimed, 1);
  t.same(await queuedDepths(p), ['out.txt@2'], 'X-Faass-Chain-Depth: the depth in its name');
  t.notOk(fs.existsSync(closed), 'the emptied outbox is removed: nothing visible stays for the path unit');
  t.ok(fs.existsSync(path.join(open, 'half.txt')), 'an open outbox (its call runs) is not touched');
});

t.test('past chain_limit: no call, the file in failed/, one dead letter saying why, once', async (t) => {
  const { p, watch, drop } = setup(t);
  await runDrop(p, 'fn', '1');
  outbox(watch, '3-call3', { 'ok.txt': 'a' }); // depth 3 = the limit: still a call
  outbox(watch, '4-call4', { 'loop.txt': 'b' });
  const r = await runDrop(p, 'fn', '1');
  t.equal(r?.stopped, 1);
  t.same(await queuedDepths(p), ['ok.txt@3'], 'the file at the limit is called, the one past it is not');
  t.same(fs.readdirSync(inboxOf(watch)), [], 'both outboxes gone');
  t.match(fs.readdirSync(areaDir(drop, 'failed')), [/-loop\.txt$/]);
  const dead = await deadList(p, 'fn');
  t.equal(dead.length, 1, 'one dead letter');
  t.match(dead[0].state.attempts, [{ notStarted: true, error: /^FAASS_E_CHAIN_LIMIT: chain depth 4 is past the chain_limit 3 of file drop 1/ }]);
  t.equal(dead[0].head?.headers['x-faass-chain-depth'], '4', 'the call it would have been');
  // A run killed after the dead letter, before the file moved on: the next writes the same one.
  const failed = fs.readdirSync(areaDir(drop, 'failed'))[0];
  fs.renameSync(path.join(areaDir(drop, 'failed'), failed), path.join(areaDir(drop, 'processing'), inFlightName(failed, 4)));
  await runDrop(p, 'fn', '1');
  t.equal((await deadList(p, 'fn')).length, 1, 'still one dead letter');
  t.same(fs.readdirSync(areaDir(drop, 'failed')), [failed]);
});

t.test('a claim a killed run left from an outbox is queued again at its depth', async (t) => {
  const { p, drop } = setup(t);
  await runDrop(p, 'fn', '1');
  fs.writeFileSync(path.join(areaDir(drop, 'processing'), inFlightName('1-1-again.txt', 2)), 'x');
  const r = await runDrop(p, 'fn', '1');
  t.equal(r?.requeued, 1);
  t.same(await queuedDepths(p), ['again.txt@2'], 'not restarted at depth 1');
});

t.test('anything else visible in .faass/in or in an outbox is refused, so the path unit does not spin', async (t) => {
  const { p, watch, drop } = setup(t);
  await runDrop(p, 'fn', '1');
  fs.writeFileSync(path.join(inboxOf(watch), 'stray.txt'), 'x');
  fs.mkdirSync(path.join(inboxOf(watch), 'not-an-outbox'));
  outbox(watch, '2-call5', { '.tmp': 'left' });
  fs.mkdirSync(path.join(inboxOf(watch), '2-call5', 'dir'));
  const r = await runDrop(p, 'fn', '1');
  t.equal(r?.refused, 4, 'the stray file, the odd directory, the hidden file and the directory in the outbox');
  t.same(fs.readdirSync(inboxOf(watch)), [], 'nothing left in view');
  t.equal(fs.readdirSync(areaDir(drop, 'failed')).length, 4);
  t.same(await queuedDepths(p), []);
});

t.test("an open outbox a killed runner left goes with the drop's retention, not before", async (t) => {
  const { p, watch } = setup(t);
  await runDrop(p, 'fn', '1');
  const young = outbox(watch, '.open-1-young', { f: 'x' });
  const old = outbox(watch, '.open-1-old', { f: 'x' });
  const longAgo = new Date(Date.now() - 8 * 86400 * 1000);
  fs.utimesSync(old, longAgo, longAgo);
  await runDrop(p, 'fn', '1');
  t.ok(fs.existsSync(young), 'a recent one may be a running call');
  t.notOk(fs.existsSync(old), 'one older than keep (7 d) is removed');
});

t.test('a redriven dead letter of a file: to done/ when its call then succeeds, in failed/ when it fails again', async (t) => {
  const { p, watch, drop } = setup(t, { retries: '0' });
  const answer = (status: number): Outcome => ({ status, answer: { headers: {}, body: Buffer.from(''), truncated: false } });
  const failing = new Set(['a.txt', 'b.txt']); // the function fails for these, until told otherwise
  const nameOf = (body: Buffer) => (JSON.parse(body.toString()) as { name: string }).name;
  const dispatch = () => new Dispatcher(p, async (_p, call) => answer(failing.has(nameOf(call.body)) ? 500 : 200)).run();
  const inArea = (sub: 'processing' | 'done' | 'failed') => (fs.existsSync(areaDir(drop, sub)) ? fs.readdirSync(areaDir(drop, sub)).map((e) => e.split('-').slice(2).join('-')).sort() : []);
  fs.writeFileSync(path.join(watch, 'a.txt'), 'a');
  fs.writeFileSync(path.join(watch, 'b.txt'), 'b');
  await runDrop(p, 'fn', '1'); // claims both
  await dispatch(); // each call dies at its one attempt (retries 0)
  await runDrop(p, 'fn', '1'); // the settled marks: both files to failed/
  t.same(inArea('failed'), ['a.txt', 'b.txt'], 'both dead, both in failed/');
  const dead = await deadLetters(p, 'fn');
  t.equal(dead.length, 2, 'and in the dead letters');
  failing.delete('a.txt'); // the function mended for a.txt only
  t.same((await redrive(p, 'fn', undefined)).missing, []);
  await dispatch();
  await runDrop(p, 'fn', '1');
  t.same(inArea('done'), ['a.txt'], 'the one that succeeded now: moved to done/');
  t.same(inArea('failed'), ['b.txt'], 'the one that failed again: still in failed/');
  t.same(inArea('processing'), [], 'none left in processing/');
  t.same(fs.readdirSync(path.join(p.stateDir, 'queue', 'fn', 'drops', '1', 'settled')), [], 'every mark taken');
  t.equal((await deadLetters(p, 'fn')).length, 1, 'b.txt is a dead letter again');
});

t.test('an outbox swapped for a symbolic link while the drop reads it: nothing outside .faass/in is moved or handed over', async (t) => {
  const { p, watch } = setup(t);
  await runDrop(p, 'fn', '1');
  // A file of the user's the function cannot see: under the drop's unit any directory of DIR
  // would do (the service may write DIR); beside it here, as nothing confines this test.
  const secrets = path.join(path.dirname(watch), 'private');
  fs.mkdirSync(secrets);
  fs.writeFileSync(path.join(secrets, 'secret.txt'), 'not for the function');
  const box = outbox(watch, '2-evil', { 'out.txt': 'next' });
  // The function may write .faass/in/ while the service runs (another call of it): the moment
  // the service lists the outbox it passed as a directory, the name becomes a symlink.
  const readdir = fs.promises.readdir;
  let swapped = false;
  const swap: typeof readdir = (async (dir: fs.PathLike, opts?: unknown) => {
    if (!swapped && path.basename(String(dir)) === '2-evil') {
      swapped = true;
      if (fs.existsSync(box)) fs.renameSync(box, path.join(inboxOf(watch), '.gone'));
      fs.symlinkSync(secrets, box);
    }
    return (readdir as (d: fs.PathLike, o?: unknown) => Promise<unknown>)(dir, opts);
  }) as typeof readdir;
  fs.promises.readdir = swap;
  t.teardown(() => {
    fs.promises.readdir = readdir;
  });
  await runDrop(p, 'fn', '1');
  fs.promises.readdir = readdir;
  t.ok(swapped, 'the service looked into the outbox');
  t.ok(fs.existsSync(path.join(secrets, 'secret.txt')), "the user's file stays where it was");
  t.same(await queuedDepths(p), ['out.txt@2'], "the outbox's own file is the one call; nothing of the link's target is handed over");
  await runDrop(p, 'fn', '1');
  t.same(fs.readdirSync(inboxOf(watch)).filter((n) => n !== '.gone'), [], 'the link itself is refused at the next run, unfollowed');
  t.same(fs.readdirSync(secrets), ['secret.txt']);
});

t.test('an outbox a killed run had taken into .faass/outboxes/ is claimed by the next, at its depth', async (t) => {
  const { p, drop } = setup(t);
  await runDrop(p, 'fn', '1');
  const left = path.join(areaDir(drop, 'outboxes'), '2-killed');
  fs.mkdirSync(left);
  fs.writeFileSync(path.join(left, 'late.txt'), 'x');
  const r = await runDrop(p, 'fn', '1');
  t.equal(r?.claimed, 1);
  t.same(await queuedDepths(p), ['late.txt@2']);
  t.same(fs.readdirSync(areaDir(drop, 'outboxes')), [], 'removed once emptied');
});

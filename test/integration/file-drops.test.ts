// File drops (issue 14): each file dropped into a watched directory becomes one asynchronous
// call, claimed by a rename into DIR/.faass/processing/ and moved to done/ or failed/ when its
// call is settled; a file written under a hidden name is not claimed until it is renamed into
// place; dispatchers SIGKILLed while files drain lose none and claim none twice; trigger rm and
// delete take the path unit. As an ordinary user, as faass runs on a real host.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { userDir, sideDir, testUid } from '../support/side-dir';
import { startSandbox, setupGateway, writeFixture, waitFor, TEST_USER, Sandbox } from '../support/sandbox';

const N = Number(process.env.FAASS_DROP_FILES ?? 1000);



// Written whole under a hidden name, then renamed into place: the rule faassctl(1) gives.
function drop(dir: string, name: string, content: string): void {
  const tmp = path.join(dir, `.${name}.part`);
  fs.writeFileSync(tmp, content);
  fs.chownSync(tmp, testUid(), -1);
  fs.renameSync(tmp, path.join(dir, name));
}

const list = (dir: string): string[] => {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
};

// The function notes each call it is handed: file name, call id, attempt, size, trigger headers.
// Names starting with "bad" fail (exit 1), so their calls go to the dead letters after their
// retries (1: an attempt a kill cut off counts as failed, and is made again).
const script = (log: string) => `#!/bin/sh
ev=$(cat)
name=$(printf %s "$ev" | sed -n 's/.*"name":"\\([^"]*\\)".*/\\1/p')
size=$(printf %s "$ev" | sed -n 's/.*"size":\\([0-9]*\\).*/\\1/p')
id=$(printf %s "$Http_X_Call_Id" | tr -dc a-z0-9-)
echo "$name $id $Http_X_Faass_Attempt $size $Http_X_Faass_Trigger $Http_X_Faass_Trigger_Id $Http_X_Faass_Chain_Depth" >> ${log}
case "$name" in bad*) exit 1;; esac
echo ok
`;

interface Delivery {
  name: string;
  call: string;
  attempt: number;
  size: number;
  trigger: string;
  triggerId: string;
  depth: string;
}

const deliveries = (log: string): Delivery[] =>
  (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [name, call, attempt, size, trigger, triggerId, depth] = l.split(' ');
      return { name, call, attempt: Number(attempt), size: Number(size), trigger, triggerId, depth };
    });

const mainPid = async (sb: Sandbox, unit: string) => Number((await sb.systemctl('show', unit, '-p', 'MainPID', '--value')).stdout.trim());

t.test('file drops', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 60);
  const inbox = userDir(sb, 'inbox');
  const log = path.join(await sideDir(sb, 'eat'), 'handed');
  const area = (sub: string) => path.join(inbox, '.faass', sub);
  const unitFile = (u: string) => path.join(sb.env.XDG_CONFIG_HOME as string, 'systemd', 'user', u);
  t.equal((await sb.faassctl('deploy', 'eat', '--runtime', 'exec', '--from-file', writeFixture(sb, 'eat.sh', script(log), 0o755), '--max-inflight', '8', '--retries', '1', '--idle', '10min')).code, 0);

  t.test('bad --watch values are refused with a line, nothing written', async (t) => {
    for (const [args, why] of [
      [['--watch', 'relative/dir'], /give an absolute path \(FAASS_E_CONFIG_INVALID\)\n$/],
      [['--watch', path.join(sb.dir, 'nowhere')], /no such directory \(FAASS_E_FILE_MISSING\)\n$/],
      [['--watch', path.join(sb.env.XDG_STATE_HOME as string, 'faass')], /faass's own directory .* watch a directory of your own \(FAASS_E_CONFIG_INVALID\)\n$/],
      [['--watch', inbox, '--pattern', '.hidden*'], /not starting with '\.' \(FAASS_E_CONFIG_INVALID\)\n$/],
    ] as const) {
      const r = await sb.faassctl('trigger', 'add', 'eat', ...args);
      t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
      t.match(r.stderr, why);
    }
    t.notOk(fs.existsSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'functions', 'eat.schedules')), 'no triggers file');
  });

  t.test('a file written under a hidden name is not claimed until it is renamed into place', async (t) => {
    const r = await sb.faassctl('trigger', 'add', 'eat', '--watch', inbox, '--id', 'in');
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /Added file drop in of eat: each new file in /);
    t.ok(fs.existsSync(unitFile('faass-fn-eat-at-in.path')), 'the path unit is written');
    t.equal((await sb.systemctl('is-active', 'faass-fn-eat-at-in.path')).stdout.trim(), 'active', 'and waits');
    const half = path.join(inbox, '.big.part');
    fs.writeFileSync(half, 'x'.repeat(1000)); // half of it
    fs.chownSync(half, testUid(), -1);
    drop(inbox, 'first', 'hello');
    await waitFor('first handed over', () => deliveries(log).some((d) => d.name === 'first'), 60000);
    const first = deliveries(log).find((d) => d.name === 'first') as Delivery;
    t.same([first.trigger, first.triggerId, first.depth, first.size], ['file', 'in', '1', 5], 'X-Faass-Trigger: file, its id, chain depth 1, the size');
    await waitFor('first done', () => list(area('done')).some((f) => f.endsWith('-first')), 60000);
    t.ok(fs.existsSync(half), 'the half-written file is where it was');
    t.notOk(deliveries(log).some((d) => d.name.includes('big')), 'and was handed to nobody');
    fs.appendFileSync(half, 'y'.repeat(1000));
    fs.renameSync(half, path.join(inbox, 'big'));
    await waitFor('big handed over', () => deliveries(log).some((d) => d.name === 'big'), 60000);
    t.equal(deliveries(log).find((d) => d.name === 'big')?.size, 2000, 'whole');
  });

  t.test(`${N} files, the dispatcher SIGKILLed twice: each handed over once (again only as a later attempt), each ends in done/ or failed/`, async (t) => {
    const before = deliveries(log).length;
    const names = Array.from({ length: N }, (_, i) => `${i % 10 === 0 ? 'bad' : 'f'}${String(i).padStart(4, '0')}`);
    const started = Date.now();
    const kills: string[] = [];
    let i = 0;
    for (const killAt of [Math.floor(N * 0.3), Math.floor(N * 0.6)]) {
      for (; i < killAt; i++) drop(inbox, names[i], `file ${i}\n`);
      await waitFor(`${killAt} handed over`, () => deliveries(log).length - before >= killAt * 0.8, 240000);
      let pid = 0;
      await waitFor('the dispatcher to run', async () => (pid = await mainPid(sb, 'faass-dispatch.service')) > 0, 60000);
      process.kill(pid, 'SIGKILL');
      kills.push(`dispatcher ${pid} after ${deliveries(log).length - before} deliveries`);
      for (; i < killAt + 20; i++) drop(inbox, names[i], `file ${i}\n`); // while it is down
    }
    for (; i < N; i++) drop(inbox, names[i], `file ${i}\n`);
    const settledAll = () => list(area('done')).length + list(area('failed')).length >= N + 2;
    await waitFor(`${N} files settled`, settledAll, 400000).catch(() => undefined);
    const seconds = (Date.now() - started) / 1000;
    t.comment(`${N} files dropped and settled in ${seconds.toFixed(1)} s (${(N / seconds).toFixed(0)} files/s); killed: ${kills.join('; ')}`);

    const handed = deliveries(log).slice(before);
    const byName = new Map<string, Delivery[]>();
    for (const d of handed) byName.set(d.name, [...(byName.get(d.name) ?? []), d]);
    t.same(names.filter((n) => !byName.has(n)), [], 'none lost: every file was handed over');
    t.same([...byName.keys()].filter((n) => !names.includes(n)), [], 'and nothing else');
    t.same(names.filter((n) => new Set(byName.get(n)?.map((d) => d.call)).size !== 1), [], 'each file is one call (one claim)');
    const attempts = (n: string) => (byName.get(n) ?? []).map((d) => d.attempt);
    t.same(names.filter((n) => new Set(attempts(n)).size !== attempts(n).length), [], 'each handed over once per attempt: again only as a later attempt (one a kill cut off, or a retry)');
    t.comment(`files handed over more than once (a kill cut an attempt off): ${names.filter((n) => !n.startsWith('bad') && attempts(n).length > 1).join(' ') || 'none'}`);
    const ended = (sub: string) => list(area(sub)).map((f) => f.split('-').slice(2).join('-'));
    const done = ended('done');
    const failed = ended('failed');
    t.same(names.filter((n) => !n.startsWith('bad') && !done.includes(n)), [], 'every good file ends in done/');
    t.same(names.filter((n) => n.startsWith('bad') && !failed.includes(n)), [], 'every failing one in failed/');
    t.equal(done.length + failed.length, new Set([...done, ...failed]).size, 'none twice');
    t.same(list(area('processing')), [], 'none left in processing/');
    t.same(list(inbox).filter((f) => f !== '.faass'), [], 'none left in the directory');
    t.equal(list(path.join(sb.env.XDG_STATE_HOME as string, 'faass', 'queue', 'eat', 'dead')).filter((f) => f.endsWith('.call')).length, N / 10, 'the failing ones are dead letters');
    // Counted by the drop's sandboxed service into the dispatcher's file (what /metrics reads),
    // written when each run ends: the last run's count comes just after its files moved.
    const counted = () => (JSON.parse(fs.readFileSync(path.join(sb.env.XDG_STATE_HOME as string, 'faass', 'queue', '.metrics.json'), 'utf8')) as { fileDrops?: Record<string, Record<string, number>> }).fileDrops?.eat ?? {};
    const want = { claimed: N + 2, failed: N / 10 }; // and first and big
    await waitFor('the drop service to have counted every file', () => counted().claimed === want.claimed && counted().failed === want.failed, 60000).catch(() => undefined);
    t.same(counted(), want, 'faass_file_drops_claimed_total and _failed_total: each file once');
  });

  t.test('trigger rm and delete take the path unit', async (t) => {
    t.match((await sb.faassctl('status', 'eat')).stdout, /^Triggers \(faassctl trigger ls NAME\):\n  FUNCTION  SCHEDULES  TOPICS  DROPS  NATS\n  eat       0          0       1      0\n/m, 'faassctl status counts the drop');
    t.match((await sb.faassctl('trigger', 'ls', 'eat')).stdout, new RegExp(`eat\\s+in\\s+${inbox.replace(/[/.]/g, '\\$&')}\\s+\\*\\s+faass-fn-eat-at-in\\.path`));
    t.equal((await sb.faassctl('trigger', 'rm', 'eat', 'in')).code, 0);
    t.notOk(fs.existsSync(unitFile('faass-fn-eat-at-in.path')), 'rm: its file is gone');
    t.not((await sb.systemctl('is-active', 'faass-fn-eat-at-in.path')).stdout.trim(), 'active', 'and it is not loaded and waiting');
    drop(inbox, 'late', 'x');
    t.equal((await sb.faassctl('deploy', 'eat', '--runtime', 'exec', '--from-file', writeFixture(sb, 'eat.sh', script(log), 0o755), '--retries', '0', '--watch', inbox)).code, 0);
    t.ok(fs.existsSync(unitFile('faass-fn-eat-at-1.path')), 'deploy --watch: a path unit again');
    await waitFor('late handed over', () => deliveries(log).some((d) => d.name === 'late'), 60000);
    t.equal((await sb.faassctl('delete', 'eat', '--discard')).code, 0);
    t.notOk(fs.existsSync(unitFile('faass-fn-eat-at-1.path')), 'delete: the path unit is gone');
    t.not((await sb.systemctl('is-active', 'faass-fn-eat-at-1.path')).stdout.trim(), 'active');
  });
});

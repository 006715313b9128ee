// A deploy touches only its own units (issue 18, "Scale with the number of functions"): a new
// function's units are loaded by the user manager from disk when first referenced, without a
// daemon-reload, which re-reads every unit (its cost grew with the number of functions). A unit
// the manager holds an older text of is reloaded: a redeploy with changed settings takes effect,
// and a function deleted and deployed again gets its new units, not the old ones.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startSandbox, setupGateway, request, waitFor, Sandbox, TEST_USER } from '../support/sandbox';

// A unit of the test's own, started (so the manager keeps it) and then changed on disk: the
// manager says NeedDaemonReload=yes of it until it re-reads its units. It logs nothing of a
// reload here, and UnitsLoadStartTimestamp does not move on one: this is how to tell.
const PROBE = 'reload-probe.service';
async function armProbe(sb: Sandbox, n: number): Promise<void> {
  const file = path.join(String(sb.env.XDG_CONFIG_HOME), 'systemd', 'user', PROBE);
  const text = `[Unit]\nDescription=probe ${n}\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n`;
  if ((await sb.run('sh', ['-c', 'cat > "$0"', file], { input: text })).code !== 0) throw new Error(`cannot write ${file}`);
  if (n === 0) {
    if ((await sb.systemctl('daemon-reload')).code !== 0 || (await sb.systemctl('start', PROBE)).code !== 0) throw new Error(`cannot start ${PROBE}`);
    return armProbe(sb, 1);
  }
  if (await reloaded(sb)) throw new Error(`${PROBE} changed on disk, and the manager does not say so`);
}
async function reloaded(sb: Sandbox): Promise<boolean> {
  const r = await sb.systemctl('show', PROBE, '--property=NeedDaemonReload', '--value');
  if (r.code !== 0) throw new Error(`systemctl show ${PROBE}: ${r.stderr}`);
  return r.stdout.trim() === 'no';
}

// What the manager holds of a unit: each unit as loaded, with whether its file changed since.
async function held(sb: Sandbox, unit: string): Promise<string> {
  const r = await sb.systemctl('show', unit, '--property=LoadState,NeedDaemonReload,MemoryMax');
  const p = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return `${p.LoadState} ${p.NeedDaemonReload} ${p.MemoryMax}`;
}

t.test('a new function is deployed without reloading the manager; a changed one reloads it', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 60);
  t.equal((await sb.faassctl('deploy', 'first', '--command', 'cat')).code, 0, 'deploy first');
  await armProbe(sb, 0);

  const d = await sb.faassctl('deploy', 'second', '--command', 'cat');
  t.equal(d.code, 0, `deploy second: ${d.stderr}`);
  t.notOk(await reloaded(sb), 'a new function: no daemon-reload');
  t.equal(await held(sb, 'faass-fn-second.service'), 'loaded no infinity', 'its service is loaded from its file');
  t.equal((await sb.systemctl('is-enabled', 'faass-fn-second.socket')).stdout.trim(), 'enabled', 'its socket is enabled');
  t.equal((await request(sb.port, '/function/second', { body: 'hello' })).body, 'hello', 'and it answers');

  const changed = await sb.faassctl('deploy', 'second', '--command', 'cat', '--memory-max', '64M');
  t.equal(changed.code, 0, `redeploy with a memory limit: ${changed.stderr}`);
  t.ok(await reloaded(sb), 'a changed unit: the manager reloaded');
  t.equal(await held(sb, 'faass-fn-second.service'), 'loaded no 67108864', 'the new limit is in force, nothing pending');
  t.equal((await request(sb.port, '/function/second', { body: 'again' })).body, 'again', 'it answers');

  t.equal((await sb.faassctl('delete', 'second')).code, 0, 'delete second');
  t.equal((await held(sb, 'faass-fn-second.service')).split(' ')[0], 'not-found', 'its units are gone from the manager');
  t.equal((await sb.faassctl('deploy', 'second', '--command', 'cat')).code, 0, 'deploy second again, without the limit');
  t.equal(await held(sb, 'faass-fn-second.service'), 'loaded no infinity', 'its new units, not the old ones');
  t.equal((await request(sb.port, '/function/second', { body: 'back' })).body, 'back', 'it answers');
  t.equal((await request(sb.port, '/function/first', { body: 'still' })).body, 'still', 'the first one still answers');
  t.equal((await sb.faassctl('status')).code, 0, 'status: all well');
});

// A stand-in for systemctl on a PATH of the test's: CASE_LINE (a sh `case` on "$*") decides what
// it does to a call; every other call goes to the real one.
function standIn(sb: Sandbox, name: string, caseLine: string): string {
  const bin = path.join(sb.dir, name);
  const real = execFileSync('sh', ['-c', 'command -v systemctl'], { encoding: 'utf8' }).trim();
  fs.mkdirSync(bin, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'systemctl'), ['#!/bin/sh', caseLine, `exec ${real} "$@"`, ''].join('\n'), { mode: 0o755 });
  return bin;
}
const faassctlWith = (sb: Sandbox, bin: string, ...args: string[]) => sb.run('env', [`PATH=${bin}:${process.env.PATH}`, process.execPath, sb.faassctlPath, ...args]);

// Runs faassctl ARGS until its systemctl call matching PATTERN (a sh case pattern), and kills it there.
async function killedAt(sb: Sandbox, pattern: string, ...args: string[]): Promise<number | null> {
  const mark = path.join(String(sb.env.XDG_RUNTIME_DIR), `held-${args[0]}`);
  const bin = standIn(sb, `hold-${args[0]}`, `case " $* " in ${pattern}) echo "$$ $PPID" > "${mark}.tmp"; mv "${mark}.tmp" "${mark}"; exec sleep 600 ;; esac`);
  const done = faassctlWith(sb, bin, ...args);
  await waitFor(`faassctl ${args[0]} to reach systemctl ${pattern}`, () => fs.existsSync(mark), 60000);
  const [standPid, caller] = fs.readFileSync(mark, 'utf8').trim().split(' ').map(Number);
  process.kill(caller, 'SIGKILL');
  process.kill(standPid, 'SIGKILL');
  return (await done).code;
}

// Unit files on disk newer than what the manager holds, left by an earlier command: the next one
// must not take them for loaded because it writes nothing new.
t.test('units written but not loaded by an earlier command are loaded by the next', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 60);
  t.equal((await sb.faassctl('deploy', 'y', '--command', 'cat')).code, 0, 'deploy y');
  // The manager does not answer (`systemctl --user show --property=Version` fails, as when busy).
  const busy = standIn(sb, 'busy', 'case " $* " in *" --property=Version "*) exit 1 ;; esac');
  const unreachable = await faassctlWith(sb, busy, 'deploy', 'y', '--command', 'cat', '--memory-max', '64M');
  t.match(unreachable.stderr, /units written but not loaded/, `a deploy that found no manager says so: ${unreachable.stderr}`);
  t.equal(await held(sb, 'faass-fn-y.service'), 'loaded yes infinity', 'its files are new, the manager holds the old text');
  const retry = await sb.faassctl('deploy', 'y', '--command', 'cat', '--memory-max', '64M');
  t.equal(retry.code, 0, `the same deploy again: ${retry.stderr}`);
  t.equal(await held(sb, 'faass-fn-y.service'), 'loaded no 67108864', 'the limit is in force: the files it found unchanged were loaded');

  t.not(await killedAt(sb, '*" daemon-reload "*', 'deploy', 'y', '--command', 'cat', '--memory-max', '32M'), 0, 'a redeploy killed at its daemon-reload');
  t.equal(await held(sb, 'faass-fn-y.service'), 'loaded yes 67108864', 'the manager holds the old text');
  const next = await sb.faassctl('deploy', 'other', '--command', 'cat');
  t.equal(next.code, 0, `the next command: ${next.stderr}`);
  t.match(next.stdout, /Finished the interrupted deploy of y/, 'finishes the killed deploy');
  t.equal(await held(sb, 'faass-fn-y.service'), 'loaded no 33554432', 'and its limit is in force');
  t.equal((await request(sb.port, '/function/y', { body: 'y' })).body, 'y', 'y answers');
});

t.test("a delete killed before its units were removed: the next command removes them", async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 60);
  const unitDir = path.join(String(sb.env.XDG_CONFIG_HOME), 'systemd', 'user');
  t.equal((await sb.faassctl('deploy', 'z', '--command', 'cat', '--schedule', '*/5 * * * *')).code, 0, 'deploy z with a schedule');
  t.equal((await sb.systemctl('is-active', 'faass-fn-z-at-1.timer')).stdout.trim(), 'active', 'its timer is active');
  t.not(await killedAt(sb, '*" disable --now faass-fn-z-at-1.timer "*', 'delete', 'z', '--discard'), 0, 'a delete killed at its timer');
  t.ok(fs.existsSync(path.join(unitDir, 'faass-fn-z-at-1.timer')), 'z\'s file is gone, its units are not');
  const other = await sb.faassctl('deploy', 'other', '--command', 'cat');
  t.equal(other.code, 0, `deploy another function: ${other.stderr}`);
  t.same(fs.readdirSync(unitDir).filter((f) => f.startsWith('faass-fn-z')), [], 'z\'s units are removed');
  t.not((await sb.systemctl('is-active', 'faass-fn-z-at-1.timer')).stdout.trim(), 'active', 'its timer no longer runs');
  t.equal((await request(sb.port, '/function/other', { body: 'o' })).body, 'o', 'the other function answers');
});

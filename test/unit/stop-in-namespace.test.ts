// The ExecStop= of a runner in its own PID namespace (src/runner/stop-in-namespace.sh): it must
// find the program (pid 2 inside, the child of bwrap's init) and wait for its drain, even while
// other processes come and go. Had it given up, systemd would end bwrap, and the namespace's
// running calls with it. It reads a made-up /proc here (FAASS_PROC) naming a real process.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ROOT } from '../support/root';

const script = path.join(ROOT, 'src/runner/stop-in-namespace.sh');
const MAIN = 4000001; // bwrap, the unit's main process (made up)
const INIT = 4000002; // bwrap's init, pid 1 inside (made up)

function fakeProc(t: Test, entries: { pid: number; ppid: number; nspid: string }[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-proc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // A process that exited after the shell listed /proc and before its status was read: sorted
  // first, as a low pid would be.
  fs.mkdirSync(path.join(dir, '1'));
  fs.symlinkSync('/nonexistent', path.join(dir, '1', 'status'));
  for (const e of entries) {
    fs.mkdirSync(path.join(dir, String(e.pid)));
    const status = `Name:\tx\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t${e.pid}\nNgid:\t0\nPid:\t${e.pid}\nPPid:\t${e.ppid}\nNSpid:\t${e.nspid}\n`;
    fs.writeFileSync(path.join(dir, String(e.pid), 'status'), status);
  }
  return dir;
}

// A program that drains on SIGTERM (exit code 7 says it got the signal, not a kill).
function program(t: Test) {
  const child = spawn('/bin/sh', ['-c', 'trap "exit 7" TERM; while :; do sleep 0.05; done'], { stdio: 'ignore' });
  t.teardown(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
  return { child };
}

// Run apart from this process's event loop (not spawnSync): the program is this process's child,
// and stays a zombie (alive to kill -0) until this process reaps it, as bwrap's init would.
async function stop(proc: string, main?: number): Promise<{ status: number | null; stderr: string }> {
  const env = { PATH: process.env.PATH, FAASS_PROC: proc, ...(main ? { MAINPID: String(main) } : {}) };
  const sh = spawn('/bin/sh', [script], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  sh.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [status] = (await once(sh, 'exit')) as [number | null];
  return { status, stderr };
}

t.test('the stop reaches the program and returns once it has exited, though a /proc entry vanished', async (t) => {
  const { child } = program(t);
  const proc = fakeProc(t, [
    { pid: MAIN, ppid: 100, nspid: String(MAIN) },
    { pid: INIT, ppid: MAIN, nspid: `${INIT}\t1` },
    { pid: child.pid!, ppid: INIT, nspid: `${child.pid}\t2` },
  ]);
  const r = await stop(proc, MAIN);
  t.equal(r.status, 0, `the stop exits 0 ${r.stderr}`);
  // The program is reaped before the stop can see it gone, so its exit is known by now.
  t.equal(child.exitCode, 7, 'the program ended on its SIGTERM (its drain), not killed');
});

t.test('nothing to stop: no MAINPID, or no program in the namespace', async (t) => {
  const { child } = program(t);
  const proc = fakeProc(t, [
    { pid: MAIN, ppid: 100, nspid: String(MAIN) },
    { pid: INIT, ppid: MAIN, nspid: `${INIT}\t1` },
    { pid: child.pid!, ppid: INIT, nspid: `${child.pid}\t3` }, // not pid 2: not the program
  ]);
  t.equal((await stop(proc)).status, 0, 'no MAINPID (the runner exited idle): exits 0');
  t.equal((await stop(proc, MAIN)).status, 0, 'no pid 2 under init: exits 0');
  t.equal(child.exitCode, null, 'and signals nothing');
});

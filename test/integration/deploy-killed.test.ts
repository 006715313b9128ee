// A deploy killed half-way (issue 11 item 23) is finished by the next command that touches units:
// the function is then all there, socket enabled and listening. The deploy is held just before it
// enables its socket by a stand-in for systemctl on its PATH (the test's, not faass's), which says
// where it is by a file; the test then SIGKILLs faassctl. Before: the function kept its file and
// units but no socket, every call 502, and the next deploy left it so. As an ordinary user.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startSandbox, setupGateway, request, unitState, waitFor, TEST_USER, Sandbox } from '../support/sandbox';

// A stand-in for systemctl, for a PATH of the test's: it holds the caller at `systemctl --user
// enable [--no-reload] --now UNIT` and writes its own PID and the caller's to `mark`; every other call goes on.
function standIn(sb: Sandbox, unit: string, mark: string): string {
  const bin = path.join(sb.dir, 'held-bin');
  const real = execFileSync('sh', ['-c', 'command -v systemctl'], { encoding: 'utf8' }).trim();
  fs.mkdirSync(bin, { recursive: true, mode: 0o755 });
  const script = ['#!/bin/sh', `case " $* " in *" enable "*"--now ${unit} "*) echo "$$ $PPID" > "${mark}.tmp"; mv "${mark}.tmp" "${mark}"; exec sleep 600 ;; esac`, `exec ${real} "$@"`, ''];
  fs.writeFileSync(path.join(bin, 'systemctl'), script.join('\n'), { mode: 0o755 });
  return bin;
}

// Once the caller is held: the stand-in's PID and the caller's.
async function held(mark: string, what: string): Promise<{ standIn: number; caller: number }> {
  await waitFor(`${what} to reach the enable of its socket`, () => fs.existsSync(mark), 60000);
  const [standIn, caller] = fs.readFileSync(mark, 'utf8').trim().split(' ').map(Number);
  return { standIn, caller };
}

const killIfThere = (pid: number) => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already (systemd ends what is left in a unit's cgroup)
  }
};

t.test('a first deploy killed before it enabled its socket is finished by the next deploy', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 1);
  const mark = path.join(sb.env.XDG_RUNTIME_DIR as string, 'held');
  const bin = standIn(sb, 'faass-fn-cat.socket', mark);
  const done = sb.run('env', [`PATH=${bin}:${process.env.PATH}`, process.execPath, sb.faassctlPath, 'deploy', 'cat', '--command', 'cat', '--idle', '1']);
  const pids = await held(mark, 'faassctl deploy cat');
  process.kill(pids.caller, 'SIGKILL');
  killIfThere(pids.standIn);
  t.not((await done).code, 0, 'faassctl deploy cat was killed');
  t.not(await unitState(sb, 'faass-fn-cat.socket'), 'active/listening', 'it left no listening socket');
  t.equal((await request(sb.port, '/function/cat', { body: 'x' })).status, 502, 'calls fail meanwhile');

  const st = await sb.faassctl('status', 'cat');
  t.equal(st.code, 5, 'status cat exits 5 (FAASS_E_FUNCTION_UNREACHABLE)');
  t.match(st.stdout, /^ {2}cat: socket inactive, a deploy of it was interrupted; faassctl generate-units finishes the deploy and starts it again$/m, 'one line: what is wrong and what fixes it');

  const next = await sb.faassctl('deploy', 'ok', '--command', 'cat', '--idle', '1');
  t.equal(next.code, 0, `the next deploy ${next.stderr}`);
  t.match(next.stdout, /^Finished the interrupted deploy of cat$/m, 'says it finished the killed one');
  t.equal(await unitState(sb, 'faass-fn-cat.socket'), 'active/listening', 'its socket listens');
  t.equal((await sb.systemctl('is-enabled', 'faass-fn-cat.socket')).stdout.trim(), 'enabled', 'and is enabled, so it survives a restart of the manager');
  t.equal((await request(sb.port, '/function/cat', { body: 'back' })).body, 'back', 'calls are served');
  const after = await sb.faassctl('status');
  t.equal(after.code, 0, `status: exit 0 ${after.stdout}`);
  t.notMatch(after.stdout, /^Broken:/m, 'nothing broken');
});

t.test('a deploy through the API, its process killed, is finished by the next API call', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 30);
  const token = (await sb.faassctl('credentials', 'add', 'root', '--admin')).stdout.trim();
  const create = (name: string) => request(sb.port, '/system/functions', { method: 'POST', body: JSON.stringify({ name, runtime: 'exec', command: 'cat' }), headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
  // The API's service gets the stand-in on its PATH by a drop-in (the test's, removed below).
  const mark = path.join(sb.env.XDG_RUNTIME_DIR as string, 'faass', 'held');
  const bin = standIn(sb, 'faass-fn-cat.socket', mark);
  const dropIn = path.join(sb.env.XDG_CONFIG_HOME as string, 'systemd', 'user', 'faass-api.service.d');
  fs.mkdirSync(dropIn, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(dropIn, 'held.conf'), `[Service]\nEnvironment=PATH=${bin}:${process.env.PATH}\n`, { mode: 0o644 });
  t.equal((await sb.systemctl('daemon-reload')).code, 0);
  t.equal((await sb.systemctl('stop', 'faass-api.service')).code, 0, 'the API starts again with it');

  const call = create('cat');
  const pids = await held(mark, "the API's deploy of cat");
  t.equal(pids.caller, Number((await sb.systemctl('show', '--property=MainPID', '--value', 'faass-api.service')).stdout.trim()), 'held in the API process');
  process.kill(pids.caller, 'SIGKILL');
  killIfThere(pids.standIn);
  t.not((await call).status, 201, 'the call that deployed cat did not succeed');
  fs.rmSync(dropIn, { recursive: true });
  t.equal((await sb.systemctl('daemon-reload')).code, 0);
  await waitFor('the killed API service to be down', async () => !['active/running', 'deactivating/stop-sigterm', 'deactivating/stop-sigkill'].includes(await unitState(sb, 'faass-api.service')), 30000);
  t.not(await unitState(sb, 'faass-fn-cat.socket'), 'active/listening', 'it left no listening socket');

  const next = await create('ok');
  t.equal(next.status, 201, `the next deploy through the API ${next.body}`);
  t.equal(await unitState(sb, 'faass-fn-cat.socket'), 'active/listening', "cat's socket listens");
  t.equal((await request(sb.port, '/function/cat', { body: 'back' })).body, 'back', 'calls to cat are served');
  t.equal((await sb.faassctl('status')).code, 0, 'status: exit 0');
});

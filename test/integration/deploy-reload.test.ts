// A deploy touches only its own units (issue 18, "Scale with the number of functions"): a new
// function's units are loaded by the user manager from disk when first referenced, without a
// daemon-reload, which re-reads every unit (its cost grew with the number of functions). A unit
// the manager holds an older text of is reloaded: a redeploy with changed settings takes effect,
// and a function deleted and deployed again gets its new units, not the old ones.
import t from 'tap';
import * as path from 'node:path';
import { startSandbox, setupGateway, request, Sandbox, TEST_USER } from '../support/sandbox';

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

import t from 'tap';
import { faassUnitOf, renderTable, ago, brokenFunctions, socketColumn, BROKEN_EXIT } from '../../src/faassctl/status';
import { CanaryRow, brokenCanaries, renderCanaries } from '../../src/faassctl/status-canaries';
import { renderTop } from '../../src/faassctl/top';
import { parseShow, parseListUnits } from '../../src/systemd/unit-state';

const mine = '/user.slice/user-1000.slice/user@1000.service';

t.test('a process of one of our units, cgroup v2 and v1', async (t) => {
  t.equal(faassUnitOf(`0::${mine}/app.slice/faass-fn-echo.service\n`, mine), 'faass-fn-echo.service');
  t.equal(faassUnitOf(`12:pids:${mine}/app.slice/faass-fn-echo.service\n1:name=systemd:${mine}/app.slice/faass-gateway.service\n0::/\n`, mine), 'faass-gateway.service', 'v1: the systemd hierarchy');
  t.equal(faassUnitOf(`0::${mine}/app.slice/faass-fn-web-app.service/init\n`, mine), 'faass-fn-web-app.service', 'a sub-cgroup of the unit');
});

t.test("not ours: another user's or another manager's faass, other units, other controllers", async (t) => {
  t.equal(faassUnitOf('0::/user.slice/user-1001.slice/user@1001.service/app.slice/faass-gateway.service\n', mine), null, "another user's gateway");
  t.equal(faassUnitOf(`0::/other.slice${mine}/app.slice/faass-gateway.service\n`, mine), null, 'a manager elsewhere with the same path inside');
  t.equal(faassUnitOf(`0::${mine}/app.slice/nginx.service\n`, mine), null);
  t.equal(faassUnitOf(`4:memory:${mine}/app.slice/faass-gateway.service\n0::/\n`, mine), null, 'only the systemd or unified hierarchy counts');
  t.equal(faassUnitOf(`0::${mine}-x/app.slice/faass-gateway.service\n`, mine), null, 'a prefix of the path is not the manager');
});

t.test('status: systemctl show blocks, the table, ages', async (t) => {
  const units = parseShow('Id=faass-fn-a.socket\nActiveState=active\nSubState=listening\nLoadState=loaded\n\nId=faass-fn-a.service\nActiveState=failed\nSubState=failed\nLoadState=loaded\n\nId=faass-api.socket\nActiveState=inactive\nSubState=dead\nLoadState=not-found\n');
  t.same(units.get('faass-fn-a.service'), { Id: 'faass-fn-a.service', ActiveState: 'failed', SubState: 'failed', LoadState: 'loaded' });
  t.equal(units.get('faass-api.socket')?.LoadState, 'not-found');
  const now = 1_000_000_000;
  t.same([ago(undefined, now), ago(now - 5000, now), ago(now - 600_000, now), ago(now - 3 * 3600_000, now), ago(now - 3 * 86400_000, now)], ['never', '5s ago', '10m ago', '3h ago', '3d ago']);
  const table = renderTable([{ name: 'a', kind: 'function', socket: 'listening', process: 'failed', running: 0, calls: 200, errors: 3, lastCall: now - 5000 }, { name: 'web', kind: 'service', socket: 'listening', process: 'proxy idle, app idle', running: 0, calls: 0, errors: 0 }], now);
  t.equal(table.split('\n')[0], 'FUNCTION  KIND      SOCKET     PROCESS               RUNNING  CALLS  5XX   LAST CALL');
  t.match(table, /^a\s+function\s+listening\s+failed\s+0\s+200\s+1\.5%\s+5s ago$/m);
  t.match(table, /^web\s+service\s+listening\s+proxy idle, app idle\s+0\s+0\s+-\s+never$/m);
});

t.test('status: list-units lines, as systemctl show blocks read', async (t) => {
  // What `systemctl --user list-units --all --plain --no-legend --full 'faass-*'` printed (systemd 252):
  // descriptions with spaces, a failed unit marked with a bullet on a terminal, a not-found one.
  const units = parseListUnits(
    'faass-fn-a.service   loaded    failed   failed    faass function a (exec)\n● faass-fn-b.service loaded failed failed faass function b\nfaass-fn-a.socket     loaded    active   listening faass function a: its socket\nfaass-api.socket      not-found inactive dead      faass-api.socket\n\n',
  );
  t.same([...units.keys()], ['faass-fn-a.service', 'faass-fn-b.service', 'faass-fn-a.socket', 'faass-api.socket']);
  t.same(units.get('faass-fn-a.socket'), { Id: 'faass-fn-a.socket', LoadState: 'loaded', ActiveState: 'active', SubState: 'listening' });
  t.same(units.get('faass-fn-b.service'), { Id: 'faass-fn-b.service', LoadState: 'loaded', ActiveState: 'failed', SubState: 'failed' }, 'the bullet is not a name');
  t.equal(units.get('faass-api.socket')?.LoadState, 'not-found');
});

t.test('top: n/a where the machine gives no figure, - for idle functions', async (t) => {
  const text = renderTop(
    [
      { name: 'busy', state: 'running', cpuPercent: 72.55, tasks: 15, memory: null, callsPerSecond: 1234.56 },
      { name: 'quiet', state: 'idle', cpuPercent: 0, tasks: 0, memory: 0, callsPerSecond: 0 },
    ],
    2,
  );
  t.match(text, /^busy\s+running\s+72\.5\s+15\s+n\/a\s+1234\.6$/m);
  t.match(text, /^quiet\s+idle\s+-\s+-\s+-\s+0\.0$/m);
  t.match(text, /^n\/a: /m, 'and says why there is n/a');
});

t.test('status: a line per broken function, what is wrong and the command that fixes it', async (t) => {
  const row = (name: string, kind: string, socket: string, more: { failed?: string[]; interrupted?: boolean } = {}) => ({ name, kind, socket, process: 'idle', running: 0, calls: 0, errors: 0, ...more });
  t.same(brokenFunctions([row('a', 'function', 'listening'), row('b', 'function', 'inactive'), row('c', 'INVALID', 'listening'), row('d', 'service', 'failed'), row('e', 'function', 'missing')]), [
    'b: socket inactive; faassctl generate-units starts it again',
    'c: its file does not parse; faassctl describe c says what is wrong, then fix the file or deploy it again',
    'd: socket failed; faassctl generate-units starts it again',
    'e: socket missing; faassctl generate-units starts it again',
  ]);
  t.same(brokenFunctions([row('a', 'service', 'listening')]), [], 'none');
  t.same(brokenFunctions([row('r', 'function', 'listening', { failed: ['runner'] })]), ['r: runner failed; faassctl logs r says why; faassctl generate-units starts it again'], 'a failed runner behind a listening socket');
  t.same(brokenFunctions([row('s', 'service', 'listening', { failed: ['runner', 'app'] })]), ['s: runner failed, app failed; faassctl logs s says why; faassctl generate-units starts it again'], "a service's proxy and app");
  t.same(brokenFunctions([row('k', 'function', 'inactive', { interrupted: true })]), ['k: socket inactive, a deploy of it was interrupted; faassctl generate-units finishes the deploy and starts it again'], 'a killed deploy');
  t.equal(BROKEN_EXIT, 5, "the catalog's exit code of a function that does not answer");
});

t.test('status: a socket faass-revive looks after says so', async (t) => {
  const now = 1_000_000_000;
  t.equal(socketColumn('failed', { reviving: true }, now), 'failed, reviving', 'failed, about to be started again');
  t.equal(socketColumn('failed', { reviving: false, lastRevive: now - 5000 }, now), 'failed', 'failed, and nothing will start it');
  t.equal(socketColumn('listening', { reviving: false, lastRevive: now - 12_000 }, now), 'listening, revived 12s ago', 'started again lately: something behind it failed');
  t.equal(socketColumn('listening', { reviving: false, lastRevive: now - 3600_000 }, now), 'listening', 'long ago: nothing to say');
  t.equal(socketColumn('listening', undefined, now), 'listening');
  const row = { name: 'a', kind: 'function', socket: 'failed', process: 'failed', running: 0, calls: 0, errors: 0, revive: { reviving: true } };
  t.match(renderTable([row], now), /^a\s+function\s+failed, reviving\s+failed\s/m, 'in the table');
  t.same(brokenFunctions([row]), ['a: socket failed, reviving; faassctl generate-units starts it again'], 'and still broken until it listens');
});

t.test('status: canaries, a row each, and a line for each that needs a command', async (t) => {
  const row = (more: Partial<CanaryRow> = {}): CanaryRow => ({ name: 'echo', version: 4, current: 3, percent: 20, socket: 'listening', process: 'running', runnerFailed: false, ...more });
  t.equal(renderCanaries([]), '', 'none: no section');
  t.match(renderCanaries([row(), row({ name: 'b', version: null, current: 1, percent: null, socket: 'inactive', process: 'idle' })]), /^Canaries \(faassctl canary NAME\):\n\s+FUNCTION\s+VERSION\s+BESIDE\s+SHARE\s+SOCKET\s+PROCESS\s+STATE\n\s+echo\s+4\s+3\s+20%\s+listening\s+running\s+running\n\s+b\s+-\s+1\s+-\s+inactive\s+idle\s+incomplete\n$/m);
  t.same(brokenCanaries([row()]), [], 'listening, its runner fine: nothing to do');
  t.same(brokenCanaries([row({ socket: 'inactive' })]), ["echo's canary (version 4): socket inactive; faassctl generate-units starts it again (faassctl abort echo removes it)"], 'a socket stopped');
  t.same(brokenCanaries([row({ socket: 'failed', runnerFailed: true })]), ["echo's canary (version 4): socket failed, runner failed; faassctl logs echo says why; faassctl generate-units starts it again (faassctl abort echo removes it)"], 'a runner failed');
  const aborted = { at: '2026-12-02T10:00:00.123Z', reason: 'version 4 failed 5 of 10 calls (50%) in the last 60s, over its limit of 20%' };
  t.same(brokenCanaries([row({ aborted, socket: 'inactive' })]), ["echo's canary (version 4): aborted by the gateway at 2026-12-02T10:00:00Z (version 4 failed 5 of 10 calls (50%) in the last 60s, over its limit of 20%); faassctl abort echo removes it"], 'aborted: removed, not started again');
  t.match(renderCanaries([row({ aborted })]), /\s+echo\s+4\s+3\s+20%\s+listening\s+running\s+aborted\n$/);
  t.same(brokenCanaries([row({ version: null, percent: null })]), ["echo's canary: a canary deploy of it was interrupted; faassctl abort echo removes what it left"], 'what a killed canary deploy left');
});

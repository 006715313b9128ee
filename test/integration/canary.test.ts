// Canaries (issue 15) under load, with a real user manager as an ordinary user: 20 callers all
// along. Version 2 is current; version 3 is deployed as a canary at 20% (sticky by X-User): no
// call fails, each answer's X-Faass-Version is one live at that moment and the version whose code
// wrote its body, the canary's share is about 20%, the same X-User always lands on the same side;
// promote: version 3 alone, no call failed. Then version 4 as a canary that fails every other
// call: the gateway aborts it (its journal line), later calls go to version 3 alone, the only
// failures callers saw are the canary's own answers, and a gateway started again does not route
// to it; the next command removes it.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startSandbox, setupGateway, request, waitFor, writeFixture, unitState, TEST_USER } from '../support/sandbox';
import { sandboxJournal } from '../support/journal';
import { Seen, callers } from '../support/load';

const between = (seen: Seen[], from: number, to: number) => seen.filter((s) => s.started > from && s.started < to && s.ended !== undefined);
const failed = (seen: Seen[]) => seen.filter((s) => s.error || s.status !== 200);
const sample = (seen: Seen[]) => JSON.stringify(seen.slice(0, 3));

t.test('a canary beside the current version: share, stickiness, promote, automatic abort', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 1);
  const code = (v: number) => writeFixture(sb, `v${v}/handler.js`, `module.exports = async () => 'code-v${v}';\n`);
  for (const v of [1, 2]) {
    const d = await sb.faassctl('deploy', 'echo', '--runtime', 'node', '--from-file', code(v), '--idle', '2');
    t.equal(d.code, 0, `deploy v${v} ${d.stderr}`);
  }
  const load = callers(sb, 20, '/function/echo');
  await waitFor('100 answers of version 2', () => load.answered(0) >= 100, 60000);

  // A canary at 20%, sticky by X-User.
  const deploying = Date.now();
  const dep = await sb.faassctl('deploy', 'echo', '--runtime', 'node', '--from-file', code(3), '--idle', '2', '--canary', '20%', '--canary-header', 'X-User');
  const deployed = Date.now();
  t.equal(dep.code, 0, `canary deploy under load ${dep.stderr}`);
  t.match(dep.stdout, /as version 3, a canary beside version 2: 20% of the calls, by the hash of their x-user header/);
  await waitFor('600 answers during the canary', () => load.answered(deployed) >= 600, 60000);

  // The same X-User, the same side, every time.
  const users = Array.from({ length: 30 }, (_, i) => `user-${i}`);
  const sides = await Promise.all(users.map(async (u) => {
    const got = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const r = await request(sb.port, '/function/echo', { body: 'x', headers: { 'x-user': u } });
      got.add(`${r.status} ${r.headers['x-faass-version']} ${r.body}`);
    }
    return [...got];
  }));
  t.ok(sides.every((s) => s.length === 1 && /^200 (2 code-v2|3 code-v3)$/.test(s[0])), `each user always on one side ${JSON.stringify(sides.filter((s) => s.length !== 1).slice(0, 3))}`);
  t.ok(sides.some((s) => s[0].startsWith('200 3')) && sides.some((s) => s[0].startsWith('200 2')), 'users on both sides');

  // The gateway writes what it counted at most once a second.
  let view = { version: 0, current: 0, percent: 0, header: '', state: '', calls: 0 };
  await waitFor('the calls the gateway counted, in faassctl canary', async () => {
    const status = await sb.faassctl('canary', 'echo', '--json');
    view = status.code === 0 ? (JSON.parse(status.stdout) as typeof view) : view;
    return view.calls > 0;
  });
  t.same([view.version, view.current, view.percent, view.header, view.state], [3, 2, 20, 'x-user', 'running'], 'faassctl canary shows it');

  const promoting = Date.now();
  const pro = await sb.faassctl('promote', 'echo');
  const promoted = Date.now();
  t.equal(pro.code, 0, `promote under load ${pro.stderr}`);
  t.match(pro.stdout, /version 3 is current \(was 2\)/);
  await waitFor('200 answers after the promote', () => load.answered(promoted) >= 200, 60000);
  await load.stop();

  const seen = load.seen.filter((s) => s.ended !== undefined);
  t.equal(failed(seen).length, 0, `0 failed of ${seen.length} calls ${sample(failed(seen))}`);
  const mixed = seen.filter((s) => s.body !== `code-v${s.version}`);
  t.equal(mixed.length, 0, `each answer's X-Faass-Version is its body's code ${sample(mixed)}`);
  t.ok(between(seen, 0, deploying).every((s) => s.version === '2'), 'before the canary: version 2 alone');
  const during = between(seen, deployed, promoting);
  t.ok(during.every((s) => s.version === '2' || s.version === '3'), 'during it: 2 or 3');
  const share = (during.filter((s) => s.version === '3').length / during.length) * 100;
  t.ok(during.length >= 500 && Math.abs(share - 20) <= 4, `the canary's share ${share.toFixed(1)}% of ${during.length} calls (20% asked)`);
  const after = between(seen, promoted, Infinity);
  t.ok(after.length >= 200 && after.every((s) => s.version === '3'), `after the promote: version 3 alone (${after.length} calls)`);
  t.equal(await unitState(sb, 'faass-canary-echo.socket'), 'inactive/dead', "the canary's socket is gone");
  t.equal((await sb.faassctl('canary', 'echo')).code, 3, 'no canary: exit 3');

  // Version 4 fails every other call (500, its own answer): aborted at 20% of errors.
  const flaky = writeFixture(sb, 'v4/handler.js', "let n = 0;\nmodule.exports = async () => (n++ % 2 ? { statusCode: 500, body: 'fail-v4' } : 'code-v4');\n");
  const second = callers(sb, 20, '/function/echo');
  await waitFor('100 answers of version 3', () => second.answered(0) >= 100, 60000);
  const bad = await sb.faassctl('deploy', 'echo', '--runtime', 'node', '--from-file', flaky, '--idle', '2', '--canary', '50%', '--canary-max-errors', '20%', '--canary-window', '1min', '--canary-min-calls', '10');
  t.equal(bad.code, 0, `the flaky canary deploys ${bad.stderr}`);
  let line = '';
  await waitFor('the abort in the journal', async () => {
    line = (await sandboxJournal(sb, 'FAASS_FUNCTION=echo')).split('\n').find((l) => l.startsWith('Aborted the canary of echo')) ?? '';
    return line !== '';
  }, 60000);
  const abortSeen = Date.now();
  t.match(line, /^Aborted the canary of echo: version 4 failed (\d+) of (\d+) calls \(([\d.]+)%\) in the last 60s, over its limit of 20%; every call goes to version 3/, `one line names function, versions, errors/calls, share and limit: ${line}`);
  await waitFor('200 answers after the abort', () => second.answered(abortSeen) >= 200, 60000);
  await second.stop();
  const calls = second.seen.filter((s) => s.ended !== undefined);
  const failures = failed(calls);
  const canaryFailed = calls.filter((s) => s.status === 500 && s.version === '4' && s.body === 'fail-v4');
  t.ok(canaryFailed.length > 0, `the canary failed calls (${canaryFailed.length})`);
  t.equal(failures.length, canaryFailed.length, `every failure callers saw is the canary's own answer ${sample(failures.filter((s) => !canaryFailed.includes(s)))}`);
  t.ok(calls.every((s) => s.status !== 200 || s.body === `code-v${s.version}`), "each success is its version's code");
  const later = between(calls, abortSeen, Infinity);
  t.ok(later.length >= 200 && later.every((s) => s.version === '3'), `after the abort: version 3 alone (${later.length} calls)`);
  const aborted = JSON.parse((await sb.faassctl('canary', 'echo', '--json')).stdout) as { state: string; aborted?: { reason: string } };
  t.equal(aborted.state, 'aborted', 'faassctl canary says it was aborted');

  // A gateway started again (as after its idle exit) reads the abort; the canary's files are there.
  const route = path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'canary', 'echo.json');
  t.ok(fs.existsSync(route), 'its route is still there (the gateway may not remove it)');
  t.equal((await sb.systemctl('restart', 'faass-gateway.service')).code, 0);
  const restarted = await Promise.all(Array.from({ length: 60 }, () => request(sb.port, '/function/echo', { body: 'x' })));
  t.same([...new Set(restarted.map((r) => `${r.status} ${r.headers['x-faass-version']}`))], ['200 3'], 'after the restart: version 3 alone');

  // Aborted and not removed yet: status names it, with the command that removes it.
  const st = await sb.faassctl('status');
  t.equal(st.code, 5, 'status: exit 5 while an aborted canary is left');
  t.match(st.stdout, /^  echo's canary \(version 4\): aborted by the gateway at \S+ \(version 4 failed \d+ of \d+ calls .*\); faassctl abort echo removes it$/m, `status names it ${st.stdout}`);

  const cleaned = await sb.faassctl('abort', 'echo');
  t.equal(cleaned.code, 0, cleaned.stderr);
  t.match(cleaned.stdout, /The gateway had aborted it at \S+: version 4 failed/, 'abort says the gateway had aborted it');
  t.notOk(fs.existsSync(route), 'its files are removed');
  t.equal(await unitState(sb, 'faass-canary-echo.socket'), 'inactive/dead', 'and its units');
  const versions = JSON.parse((await sb.faassctl('versions', 'echo', '--json')).stdout) as { number: number; current: boolean }[];
  t.same(versions.map((v) => [v.number, v.current]), [[1, false], [2, false], [3, true], [4, false]], 'versions: 3 current; 4 stays recorded');
});

t.test('canaries through the management API (--gateway), and what is refused', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 30);
  const root = (await sb.faassctl('credentials', 'add', 'root', '--admin')).stdout.trim();
  const remote = (...args: string[]) => sb.run('env', [process.execPath, sb.faassctlPath, '--gateway', `http://127.0.0.1:${sb.port}`, '--token', root, ...args]);
  const code = (v: number) => writeFixture(sb, `r${v}/handler.js`, `module.exports = async () => 'code-v${v}';\n`);
  t.equal((await remote('deploy', 'echo', '--runtime', 'node', '--from-file', code(1))).code, 0);
  const dep = await remote('deploy', 'echo', '--runtime', 'node', '--from-file', code(2), '--canary', '50%', '--canary-header', 'X-User');
  t.equal(dep.code, 0, dep.stderr);
  t.match(dep.stdout, /^Deployed echo as version 2, a canary beside version 1 on .*: 50% of the calls, by the hash of their x-user header/m);
  const again = await remote('deploy', 'echo', '--runtime', 'node', '--from-file', code(3), '--canary', '10%');
  t.equal(again.code, 2, 'a second canary: exit 2');
  t.match(again.stderr, /already has a canary \(version 2 at 50%\).*FAASS_E_CANARY_EXISTS/);
  t.equal(again.stderr.trim().split('\n').length, 1, 'one line');
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => request(sb.port, '/function/echo', { body: 'x', headers: { 'x-user': `u${i}` } })));
  t.same([...new Set(answers.map((r) => `${r.status} ${r.headers['x-faass-version']} ${r.body}`))].sort(), ['200 1 code-v1', '200 2 code-v2'], 'both sides answer, each with its own code');
  const canarySide = answers.findIndex((r) => r.headers['x-faass-version'] === '2');

  // /metrics counts each side's calls apart (the 40 above are echo's only calls so far), and
  // names the canary's version and share.
  const metrics = (await request(sb.port, '/metrics', { method: 'GET' })).body;
  const answeredBy = (v: string) => answers.filter((r) => r.headers['x-faass-version'] === v).length;
  const series = (labels: string) => Number(new RegExp(`^gateway_function_invocation_total\\{${labels}\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? -1);
  t.same([series('function_name="echo",code="200",side="current"'), series('function_name="echo",code="200",side="canary"')], [answeredBy('1'), answeredBy('2')], 'calls by side: as many as each version answered');
  t.match(metrics, new RegExp(`^gateway_functions_seconds_count\\{function_name="echo",side="canary"\\} ${answeredBy('2')}$`, 'm'), 'and their durations');
  t.match(metrics, /^faass_canary_version\{function_name="echo"\} 2$/m, "the canary's version");
  t.match(metrics, /^faass_canary_share_percent\{function_name="echo"\} 50$/m, 'and share');

  // list and describe say it has one, here and through the API.
  t.match((await sb.faassctl('list')).stdout, /^echo\tnode\t\S+\tcanary version 2 at 50%$/m, 'list: its canary');
  t.match((await remote('list')).stdout, /^echo\tnode\t\S+\tcanary version 2 at 50%$/m, 'list --gateway: its canary');
  t.match((await sb.faassctl('describe', 'echo')).stdout, /^# canary version 2 at 50% \(faassctl canary echo\): its file \S+\/canary\/echo\.conf, its units faass-canary-echo\.socket, faass-canary-echo\.service$/m, 'describe: its canary');
  t.match((await remote('describe', 'echo')).stdout, /^# canary version 2 at 50% \(faassctl canary echo\)$/m, 'describe --gateway: its canary');

  // Its socket stopped by hand, then its runner killed: status names the canary and the command,
  // and generate-units starts it again.
  t.equal((await sb.systemctl('stop', 'faass-canary-echo.socket')).code, 0);
  let st = await sb.faassctl('status');
  t.equal(st.code, 5, 'status: exit 5 with the canary down');
  t.match(st.stdout, /^  echo's canary \(version 2\): socket inactive; faassctl generate-units starts it again \(faassctl abort echo removes it\)$/m, `status names it ${st.stdout}`);
  t.match(st.stdout, /^  echo\s+2\s+1\s+50%\s+inactive\s+\S+\s+running$/m, 'and its row');
  let gen = await sb.faassctl('generate-units');
  t.match(gen.stdout, /^Canaries' sockets enabled and listening again, failed units reset: echo$/m, `generate-units ${gen.stdout}${gen.stderr}`);
  t.equal(await unitState(sb, 'faass-canary-echo.socket'), 'active/listening');
  t.equal((await request(sb.port, '/function/echo', { body: 'x', headers: { 'x-user': `u${canarySide}` } })).body, 'code-v2', 'the canary answers its share again');
  t.equal((await sb.systemctl('kill', '--signal=KILL', 'faass-canary-echo.service')).code, 0);
  await waitFor("the canary's runner failed", async () => (await unitState(sb, 'faass-canary-echo.service')) === 'failed/failed');
  st = await sb.faassctl('status');
  t.equal(st.code, 5, 'status: exit 5 with its runner failed');
  t.match(st.stdout, /^  echo's canary \(version 2\): runner failed; faassctl logs echo says why; faassctl generate-units starts it again/m, `status names it ${st.stdout}`);
  gen = await sb.faassctl('generate-units');
  t.match(gen.stdout, /failed units reset: echo$/m);
  t.not(await unitState(sb, 'faass-canary-echo.service'), 'failed/failed', 'its runner reset');
  t.equal((await sb.faassctl('status')).code, 0, 'status: nothing broken');
  t.equal((await request(sb.port, '/function/echo', { body: 'x', headers: { 'x-user': `u${canarySide}` } })).body, 'code-v2', 'the canary answers again');

  const view = JSON.parse((await remote('canary', 'echo', '--json')).stdout) as { version: number; current: number; percent: number };
  t.same([view.version, view.current, view.percent], [2, 1, 50], 'faassctl --gateway canary');
  const pro = await remote('promote', 'echo');
  t.equal(pro.code, 0, pro.stderr);
  t.match(pro.stdout, /Promoted the canary of echo: version 2 is current \(was 1\) on /);
  const after = await Promise.all(Array.from({ length: 20 }, (_, i) => request(sb.port, '/function/echo', { body: 'x', headers: { 'x-user': `u${i}` } })));
  t.same([...new Set(after.map((r) => `${r.status} ${r.headers['x-faass-version']}`))], ['200 2'], 'after the promote: version 2 alone');
  t.equal((await remote('deploy', 'echo', '--runtime', 'node', '--from-file', code(3), '--canary', '10%')).code, 0);
  const ab = await remote('abort', 'echo');
  t.equal(ab.code, 0, ab.stderr);
  t.match(ab.stdout, /Aborted the canary of echo \(version 3\)/);
  const gone = await remote('canary', 'echo');
  t.equal(gone.code, 3, 'no canary: exit 3');
  t.match(gone.stderr, /FAASS_E_CANARY_NOT_FOUND/);

  // Refused, each with one line and nothing changed: a service, a change of who may call, the same code.
  t.equal((await sb.faassctl('deploy', 'web', '--kind', 'service', '--port', '9431', '--network', 'host', '--command', 'sleep 1000')).code, 0);
  const svc = await sb.faassctl('deploy', 'web', '--kind', 'service', '--port', '9431', '--network', 'host', '--command', 'sleep 999', '--canary', '10%');
  t.equal(svc.code, 2, 'a service: exit 2');
  t.match(svc.stderr, /services have no canaries yet.*FAASS_E_CANARY_REFUSED/);
  const wider = await sb.faassctl('deploy', 'echo', '--runtime', 'node', '--from-file', code(4), '--canary', '10%', '--auth', 'root');
  t.match(wider.stderr, /a canary keeps who may call the function.*FAASS_E_CANARY_REFUSED/, 'a change of who may call');
  t.equal((await sb.faassctl('deploy', 'solo', '--command', 'cat')).code, 0);
  const same = await sb.faassctl('deploy', 'solo', '--command', 'cat', '--canary', '10%');
  t.match(same.stderr, /those of version 1, the current one/, 'nothing new');
  t.same((JSON.parse((await sb.faassctl('versions', 'solo', '--json')).stdout) as unknown[]).length, 1, 'and nothing recorded');
  const bad = await sb.faassctl('deploy', 'echo', '--runtime', 'node', '--from-file', code(4), '--canary', '120%');
  t.match(bad.stderr, /Invalid --canary "120%"/, 'a bad share');
  const versions = JSON.parse((await sb.faassctl('versions', 'echo', '--json')).stdout) as { number: number }[];
  t.same(versions.map((v) => v.number), [1, 2, 3], 'no version recorded by a refused canary');
  t.notOk(fs.existsSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'canary', 'echo.conf')), 'no canary file left');

  // A canary deploy claims the function as a deploy does, and a kill -9 of it is undone by the next
  // command. It is held at the enable of its socket (its file, record, code and units written) by
  // a stand-in for systemctl on its PATH (deploy-killed.test.ts does the same for a deploy).
  const codeDirs = () => fs.readdirSync(path.join(sb.env.XDG_DATA_HOME as string, 'faass', 'code', 'echo')).sort();
  const codeBefore = codeDirs();
  const mark = path.join(sb.env.XDG_RUNTIME_DIR as string, 'held');
  const bin = path.join(sb.dir, 'held-bin');
  const real = execFileSync('sh', ['-c', 'command -v systemctl'], { encoding: 'utf8' }).trim();
  fs.mkdirSync(bin, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'systemctl'), ['#!/bin/sh', `case " $* " in *" enable "*"--now faass-canary-echo.socket "*) echo "$$ $PPID" > "${mark}.tmp"; mv "${mark}.tmp" "${mark}"; exec sleep 600 ;; esac`, `exec ${real} "$@"`, ''].join('\n'), { mode: 0o755 });
  const killed = sb.run('env', [`PATH=${bin}:${process.env.PATH}`, process.execPath, sb.faassctlPath, 'deploy', 'echo', '--runtime', 'node', '--from-file', code(5), '--canary', '10%']);
  await waitFor('the canary deploy to reach the enable of its socket', () => fs.existsSync(mark), 60000);
  const [standIn, caller] = fs.readFileSync(mark, 'utf8').trim().split(' ').map(Number);
  for (const args of [['deploy', 'echo', '--runtime', 'node', '--from-file', code(6)], ['deploy', 'echo', '--runtime', 'node', '--from-file', code(6), '--canary', '10%'], ['rollback', 'echo'], ['abort', 'echo']]) {
    const busy = await sb.faassctl(...args);
    t.equal(busy.code, 2, `${args.slice(0, 2).join(' ')} while it runs: exit 2`);
    t.match(busy.stderr.trim(), /^faassctl: echo is being deployed or rolled back by process \d+; try again when it ends \(FAASS_E_DEPLOY_BUSY\)$/, 'one line: busy');
  }
  process.kill(caller, 'SIGKILL');
  try {
    process.kill(standIn, 'SIGKILL');
  } catch {
    // gone with its caller's cgroup already
  }
  t.not((await killed).code, 0, 'the canary deploy was killed');
  const undo = await sb.faassctl('abort', 'echo'); // what status says removes it; any command that touches units would
  t.equal(undo.code, 0, `abort: exit 0 ${undo.stderr}`);
  t.match(undo.stdout, /^Undid the interrupted deploy of echo$/m, `the next command undoes it ${undo.stdout}`);
  t.same((JSON.parse((await sb.faassctl('versions', 'echo', '--json')).stdout) as { number: number }[]).map((v) => v.number), [1, 2, 3], 'its version record is gone');
  t.notOk(fs.existsSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'canary', 'echo.conf')), 'its settings file is gone');
  t.notOk(fs.existsSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'systemd', 'user', 'faass-canary-echo.socket')), 'its units are gone');
  t.equal(await unitState(sb, 'faass-canary-echo.socket'), 'inactive/dead', 'its socket does not listen');
  t.same(codeDirs(), codeBefore, 'its code is gone');
  const next = await sb.faassctl('deploy', 'echo', '--runtime', 'node', '--from-file', code(6), '--canary', '10%');
  t.equal(next.code, 0, `a canary deploy again ${next.stderr}`);
  t.match(next.stdout, /^Deployed echo as version 4, a canary beside version 2/m, 'the next number, not one taken');
  // A promote racing the gateway's abort: held at its first systemctl call (after it read the
  // canary), the gateway's abort is written as the gateway writes it; the promote then refuses.
  const go = path.join(sb.env.XDG_RUNTIME_DIR as string, 'go');
  const promoteMark = `${mark}-promote`;
  fs.writeFileSync(path.join(bin, 'systemctl'), ['#!/bin/sh', `case " $* " in *" show --property=Version "*) if [ ! -e "${promoteMark}" ]; then echo $$ > "${promoteMark}"; while [ ! -e "${go}" ]; do sleep 0.1; done; fi ;; esac`, `exec ${real} "$@"`, ''].join('\n'), { mode: 0o755 });
  const racing = sb.run('env', [`PATH=${bin}:${process.env.PATH}`, process.execPath, sb.faassctlPath, 'promote', 'echo']);
  await waitFor('the promote to reach its first systemctl call', () => fs.existsSync(promoteMark), 60000);
  const routeFile = JSON.parse(fs.readFileSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'canary', 'echo.json'), 'utf8')) as { version: number; started: string };
  const at = new Date().toISOString();
  fs.mkdirSync(path.join(sb.env.XDG_STATE_HOME as string, 'faass', 'canary'), { recursive: true });
  fs.writeFileSync(path.join(sb.env.XDG_STATE_HOME as string, 'faass', 'canary', 'echo.json'), JSON.stringify({ version: routeFile.version, started: routeFile.started, calls: 10, errors: 5, at, aborted: { at, reason: 'version 4 failed 5 of 10 calls' } }));
  fs.writeFileSync(go, '');
  const refused = await racing;
  t.equal(refused.code, 3, `a promote of a canary aborted meanwhile: exit 3 ${refused.stdout}`);
  t.match(refused.stderr.trim(), /^faassctl: The gateway aborted the canary of echo at \S+: version 4 failed 5 of 10 calls; nothing promoted \(faassctl abort echo removes it\) \(FAASS_E_CANARY_NOT_FOUND\)$/, 'one line: why');
  const still = JSON.parse((await sb.faassctl('versions', 'echo', '--json')).stdout) as { number: number; current: boolean }[];
  t.same(still.filter((v) => v.current).map((v) => v.number), [2], 'version 2 is still current');
  const removed = await sb.faassctl('abort', 'echo');
  t.match(removed.stdout, /The gateway had aborted it at \S+: version 4 failed 5 of 10 calls/, `abort removes it ${removed.stderr}`);
});

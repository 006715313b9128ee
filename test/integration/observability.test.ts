// Metrics that survive scale to zero, CPU accounting from the runner's cgroup, and the journal:
// a real systemd user manager and journald, real sockets, promtool from Debian's prometheus.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startSandbox, setupGateway, request, waitFor, writeFixture, sleep, Sandbox, Run } from '../support/sandbox';
import { sandboxJournal } from '../support/journal';

// One sample of a metric, 0 when the exposition has none.
function sample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',').filter(Boolean);
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[3]);
  }
  return 0;
}

// Call ids of this run only: every run of this file (and a file beside it) logs into the same
// journal, as the same user, so `faassctl logs NAME --call ID` would find a fixed ID's lines from
// any of them (it selects by unit and uid, which they share).
const RUN = randomBytes(4).toString('hex');

const mainPid = async (sb: Sandbox, unit: string) => Number((await sb.systemctl('show', unit, '-p', 'MainPID', '--value')).stdout.trim());

t.test('observability', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 1);
  const scrape = async () => {
    const r = await request(sb.port, '/metrics', { method: 'GET' });
    t.equal(r.status, 200, 'GET /metrics');
    return r.body;
  };
  const deploy = async (...args: string[]) => {
    const r = await sb.faassctl('deploy', ...args);
    if (r.code !== 0) throw new Error(`deploy ${args.join(' ')}: ${r.stderr}`);
  };
  await deploy('echo', '--command', 'cat', '--idle', '1');

  t.test('counters keep counting across three idle exits of the gateway', async (t) => {
    let calls = 0;
    let activations = 0;
    for (let round = 1; round <= 3; round++) {
      for (let i = 0; i < 5; i++) t.equal((await request(sb.port, '/function/echo', { body: `r${round}` })).status, 200);
      calls += 5;
      t.equal((await request(sb.port, '/function/nope', { body: 'x' })).status, 404);
      await waitFor('the gateway to exit idle', async () => (await mainPid(sb, 'faass-gateway.service')) === 0, 30000);
      const m = await scrape(); // starts a fresh gateway, which reads what the last ones wrote
      t.equal(sample(m, 'gateway_function_invocation_total', { function_name: 'echo', code: '200', side: 'current' }), calls, `round ${round}: ${calls} calls counted`);
      t.equal(sample(m, 'gateway_functions_seconds_count', { function_name: 'echo', side: 'current' }), calls, 'and as many durations');
      t.equal(sample(m, 'gateway_functions_seconds_bucket', { function_name: 'echo', side: 'current', le: '+Inf' }), calls);
      const now = sample(m, 'faass_activations_total', { program: 'gateway' });
      t.ok(now > activations, `gateway activations grow (${activations} → ${now})`);
      activations = now;
      t.notMatch(m, /function_name="nope"/, 'a name that is no function does not become a label');
    }
    t.ok(sample(await scrape(), 'faass_function_cold_starts_total', { function_name: 'echo' }) >= 1, 'cold starts of the runner are counted');
  });

  t.test('promtool check metrics passes', async (t) => {
    t.equal((await request(sb.port, '/function/echo', { body: 'x' })).status, 200);
    const text = await scrape();
    t.ok(sample(text, 'faass_function_tasks', { function_name: 'echo' }) >= 1, 'the tasks of a running runner, live');
    const r = await sb.run('promtool', ['check', 'metrics'], { input: text });
    t.equal(r.code, 0, `promtool: ${r.stdout}${r.stderr}`);
    t.match(text, /^# TYPE gateway_functions_seconds histogram$/m);
    t.match(text, /^# TYPE faass_function_inflight gauge$/m);
  });

  t.test('a scrape does not keep the gateway awake', async (t) => {
    t.equal((await sb.faassctl('init', '--idle', '2')).code, 0);
    await sb.systemctl('stop', 'faass-gateway.service');
    t.equal((await request(sb.port, '/function/echo', { body: 'x' })).status, 200);
    const called = Date.now();
    const first = await mainPid(sb, 'faass-gateway.service');
    t.ok(first > 0, 'a gateway serves the call');
    // A scrape every 250 ms: if scrapes counted as activity, a gateway with idle=2 would never
    // exit, so its exit within the deadline is the proof, however slow the machine.
    let exitedAfter = -1;
    await waitFor('the gateway to exit while scraped', async () => {
      await scrape();
      if ((await mainPid(sb, 'faass-gateway.service')) === first) return false;
      exitedAfter = Date.now() - called;
      return true;
    }, 30000).catch(() => undefined);
    t.ok(exitedAfter > 0, `scraped every 250 ms, it still exited, ${exitedAfter} ms after the last call (idle 2 s)`);
    await scrape();
    const scraped = await mainPid(sb, 'faass-gateway.service');
    t.ok(scraped > 0, 'a scrape alone starts a gateway');
    await waitFor('a gateway started by a scrape alone to exit', async () => (await mainPid(sb, 'faass-gateway.service')) !== scraped, 30000).catch(() => undefined);
    t.not(await mainPid(sb, 'faass-gateway.service'), scraped, 'and it exits when idle');
  });

  t.test('CPU accounting: the CPU a function burns, from its cgroup', async (t) => {
    writeFixture(sb, 'burn.py', 'import time, sys\nsys.stdin.read()\nwhile time.process_time() < 0.8:\n    pass\nprint(time.process_time())\n', 0o755);
    await deploy('burn', '--runtime', 'exec', '--command', `python3 ${sb.dir}/fixtures/burn.py`, '--idle', '1');
    const before = sample(await scrape(), 'faass_function_cpu_seconds_total', { function_name: 'burn' });
    let burned = 0;
    for (let i = 0; i < 3; i++) {
      const r = await request(sb.port, '/function/burn', { body: 'x' });
      t.equal(r.status, 200);
      burned += Number(r.body);
    }
    await waitFor('the runner to exit idle', async () => (await mainPid(sb, 'faass-fn-burn.service')) === 0, 30000);
    const m = await scrape();
    const cpu = sample(m, 'faass_function_cpu_seconds_total', { function_name: 'burn' }) - before;
    t.ok(cpu >= burned * 0.95 && cpu <= burned * 1.2, `cgroup CPU ${cpu.toFixed(3)} s for ${burned.toFixed(3)} s burned by the function (within 20 %)`);
    t.equal(sample(m, 'faass_function_cold_starts_total', { function_name: 'burn' }), 1, 'three calls in a row: one cold start');
    // faassctl stats reads the file, which the gateway writes every few seconds while it runs.
    let st = await sb.faassctl('stats', 'burn');
    await waitFor('the gateway to write the counts', async () => /^invocations\s+3 /m.test((st = await sb.faassctl('stats', 'burn')).stdout), 30000).catch(() => undefined);
    t.equal(st.code, 0, `faassctl stats ${st.stderr}`);
    t.match(st.stdout, /^invocations\s+3 \(200: 3\)$/m, `faassctl stats: the calls ${st.stdout}`);
    const perCall = Number(/^cpu\s+[\d.]+ s in all, ([\d.]+) ms per invocation$/m.exec(st.stdout)?.[1]);
    t.ok(perCall >= (burned / 3) * 1000 * 0.95 && perCall <= (burned / 3) * 1000 * 1.2, `and the CPU per invocation (${perCall} ms)`);
    t.match(st.stdout, /^memory\s+not measured/m, 'a figure it does not have is said so');
    t.equal((await sb.faassctl('stats', 'nope')).code, 3, 'stats of no function: exit 3');
    // The gateway snapshots the counts when it exits: a window after that has none of these calls.
    await waitFor('the gateway to exit idle', async () => (await mainPid(sb, 'faass-gateway.service')) === 0, 30000);
    // Not a race: the last window must begin after that snapshot, and a slower machine only
    // widens the gap.
    await sleep(1500);
    const hour = await sb.faassctl('stats', 'burn', '--since', '1h');
    t.match(hour.stdout, /^invocations\s+3 \(200: 3\)$/m, 'stats --since 1h: the three calls');
    const recent = await sb.faassctl('stats', 'burn', '--since', '1s');
    t.equal(recent.code, 0);
    t.match(recent.stdout, /^invocations\s+0$/m, 'stats --since 1s: none of them');
    t.equal((await sb.faassctl('stats', 'burn', '--since', 'soon')).code, 2, 'a bad --since: exit 2');
  });

  t.test('the journal: one line per call, stderr tagged, findable by function and call id', async (t) => {
    writeFixture(sb, 'noisy.sh', '#!/bin/sh\nread -r what\necho "complaining about $what" >&2\necho "id=$Http_X_Call_Id"\n[ "$what" != fail ] || exit 3\n', 0o755);
    await deploy('noisy', '--runtime', 'exec', '--command', `${sb.dir}/fixtures/noisy.sh`, '--idle', '1');
    const given = `obs-${RUN}-1`;
    const r = await request(sb.port, '/function/noisy', { body: 'things\n', headers: { 'x-call-id': given } });
    t.equal(r.headers['x-call-id'], given, 'the caller\'s X-Call-Id comes back');
    t.equal(r.body, `id=${given}\n`, 'and the function gets it as Http_X_Call_Id');
    t.equal(r.headers['x-faass-start'], 'cold', 'the first call of a runner says it was cold');
    const made = await request(sb.port, '/function/noisy', { body: 'fail\n' });
    t.equal(made.status, 500);
    t.match(made.headers['x-call-id'], /^[0-9a-f-]{36}$/, 'without one, an id is made');
    t.equal(made.headers['x-faass-start'], 'warm');
    const failedId = String(made.headers['x-call-id']);
    const journal = (...args: string[]) => sandboxJournal(sb, ...args);
    await waitFor('the call lines in the journal', async () => (await journal('FAASS_FUNCTION=noisy')).includes(`call=${failedId}`), 30000);
    const all = await journal('FAASS_FUNCTION=noisy');
    t.match(all, new RegExp(`^call=${given} function=noisy status=200 duration=\\d+\\.\\d{6} start=cold$`, 'm'), 'journalctl FAASS_FUNCTION=noisy: the call line');
    t.match(all, new RegExp(`^noisy\\[${given}\\]: complaining about things$`, 'm'), "and the function's stderr, tagged with the call id");
    const errors = await journal('FAASS_FUNCTION=noisy', '-p', 'err');
    t.match(errors, new RegExp(`^call=${failedId} function=noisy status=500 `, 'm'), 'a failed call is logged at priority err');
    t.notMatch(errors, `${given} function`, 'a good one is not');
    const one = await sb.faassctl('logs', 'noisy', '--call', given);
    t.equal(one.code, 0);
    t.match(one.stdout, /complaining about things/, 'faassctl logs --call ID: that call\'s lines');
    t.match(one.stdout, `call=${given} `);
    t.notMatch(one.stdout, new RegExp(failedId), 'and no other call\'s');
    // Warm workers: the output of each call carries its id too.
    writeFixture(sb, 'warm/handler.js', "exports.handler = async (event) => { console.error('node says ' + event.body); return 'ok'; };\n");
    writeFixture(sb, 'warm/handler.py', "def handle(req):\n    print('python says ' + req)\n    return 'ok'\n");
    await deploy('wnode', '--runtime', 'node', '--from-file', `${sb.dir}/fixtures/warm/handler.js`, '--handler', 'handler', '--idle', '1');
    await deploy('wpy', '--runtime', 'python', '--from-file', `${sb.dir}/fixtures/warm/handler.py`, '--idle', '1');
    for (const [fn, i] of [['wnode', 1], ['wnode', 2], ['wpy', 1], ['wpy', 2]] as const) {
      const w = await request(sb.port, `/function/${fn}`, { body: `hi${i}`, headers: { 'x-call-id': `${fn}-${RUN}-${i}` } });
      t.equal(w.status, 200, `${fn} ${w.body}`);
    }
    for (const [fn, says] of [['wnode', 'node says'], ['wpy', 'python says']]) {
      const id = `${fn}-${RUN}-2`;
      await waitFor(`${fn}'s output in the journal`, async () => (await journal(`FAASS_FUNCTION=${fn}`, `FAASS_CALL_ID=${id}`)).includes(`${says} hi2`), 30000);
      const second = await journal(`FAASS_FUNCTION=${fn}`, `FAASS_CALL_ID=${id}`);
      t.match(second, new RegExp(`^${fn}\\[${id}\\]: ${says} hi2$`, 'm'), `${fn}: a warm worker's output is tagged with its call`);
      t.notMatch(second, /hi1/, "and not with another call's");
    }
    const bad = await sb.faassctl('logs', 'noisy', '--call', 'a b');
    t.equal(bad.code, 2, 'a call id that cannot be one: exit 2');
  });

  t.test('status: a table at a glance, exit 5 while a unit has failed', async (t) => {
    // The gateway adds its counts to the file every 2 s.
    await waitFor('the calls of the journal test in the counts', async () => /^noisy\s.*\s2\s+50\.0%/m.test((await sb.faassctl('status')).stdout), 30000);
    const ok = await sb.faassctl('status');
    t.equal(ok.code, 0, 'nothing failed: exit 0');
    t.match(ok.stdout, /^Gateway: socket listening, /m);
    t.match(ok.stdout, /^FUNCTION\s+KIND\s+SOCKET\s+PROCESS\s+RUNNING\s+CALLS\s+5XX\s+LAST CALL$/m);
    t.match(ok.stdout, /^echo\s+function\s+listening\s+\S+\s+\d+\s+(\d+)\s+0\.0%\s+\d+[smh] ago$/m, 'a function, its socket, calls, error rate and last call');
    t.match(ok.stdout, /^noisy\s+function\s+listening\s+\S+\s+\d+\s+2\s+50\.0%/m, 'the error rate counts 5xx');
    await deploy('broken', '--command', 'cat', '--idle', '1');
    fs.rmSync(path.join(sb.env.XDG_DATA_HOME as string, 'faass', 'functions', 'broken'), { recursive: true, force: true });
    t.equal((await request(sb.port, '/function/broken', { body: 'x' })).status, 502, 'a runner that cannot start: 502');
    // faass-revive resets the failed units a few seconds after the socket failed (faass-revive(8)):
    // status and top must say "failed" while the unit is failed, so they are read while it stays
    // failed throughout (the same failure before and after); when a revive came in between, the
    // function is called again, which fails the unit again, and they are read again.
    const failure = async () => (await sb.systemctl('show', 'faass-fn-broken.service', '--property=ActiveState', '--property=InactiveEnterTimestampMonotonic', '--value')).stdout.trim();
    let seen: { status: Run; top: Run } | undefined;
    for (let attempt = 1; !seen && attempt <= 5; attempt++) {
      if (attempt > 1) await request(sb.port, '/function/broken', { body: 'x' });
      await waitFor('the runner unit to fail', async () => (await sb.systemctl('is-failed', 'faass-fn-broken.service')).stdout.trim() === 'failed', 30000);
      const before = await failure();
      const read = { status: await sb.faassctl('status'), top: await sb.faassctl('top', '-n', '1', '--interval', '0.5') };
      if ((await failure()) === before) seen = read;
    }
    if (!seen) throw new Error('faass-revive revived broken during each of 5 readings of status and top');
    const { status: failed, top } = seen;
    t.equal(failed.code, 5, 'a failed unit: exit 5');
    // Its socket may have failed too (the queued connection starts the unit again and again, to
    // its start limit); faass-revive then starts it again.
    t.match(failed.stdout, /^broken\s+function\s+(listening|failed|failed, reviving)\s+failed\s/m, 'its row says so');
    t.match(failed.stdout, /^Failed: .*faass-fn-broken\.service/m, 'and names the failed units');
    t.equal(top.code, 0, `faassctl top -n 1 ${top.stderr}`);
    t.match(top.stdout, /^FUNCTION\s+STATE\s+CPU%\s+TASKS\s+MEMORY\s+CALLS\/S$/m, 'top: a table');
    t.match(top.stdout, /^broken\s+failed\s/m, 'with each function, in its state');
    t.equal((await sb.faassctl('top', '--interval', '0')).code, 2, 'a bad interval: exit 2');
    t.equal((await sb.faassctl('delete', 'broken')).code, 0);
    t.equal((await sb.faassctl('status')).code, 0, 'gone with it: exit 0 again');
  });

  t.test('services: the gateway logs their calls and returns the call id', async (t) => {
    writeFixture(sb, 'site/index.html', 'hello from the service\n');
    await deploy('site', '--kind', 'service', '--port', '19876', '--command', `python3 -m http.server 19876 --bind 127.0.0.1 --directory ${sb.dir}/fixtures/site`, '--idle', '2');
    const id = `svc-${RUN}-1`;
    const r = await request(sb.port, '/function/site/index.html', { method: 'GET', headers: { 'x-call-id': id } });
    t.equal(r.status, 200, r.body);
    t.equal(r.headers['x-call-id'], id);
    await waitFor('the service call line', async () => (await sandboxJournal(sb, 'FAASS_FUNCTION=site', `FAASS_CALL_ID=${id}`)).includes('status=200'), 30000);
    const logged = await sb.faassctl('logs', 'site', '--call', id);
    t.match(logged.stdout, `call=${id} function=site status=200 `, "faassctl logs --call: the gateway's line for a service's call");
    t.equal(sample(await scrape(), 'gateway_function_invocation_total', { function_name: 'site', code: '200', side: 'current' }), 1, 'and counts them');
  });
});

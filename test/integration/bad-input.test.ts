// Every input can be bad: each gets a clear error and nothing is left half-written.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startSandbox, setupGateway, request, writeFixture, faassPids, waitFor, unitState, errorCode, Reply } from '../support/sandbox';
import { sandboxJournal } from '../support/journal';

t.test('bad input', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 1);
  const cfgDir = path.join(sb.env.XDG_CONFIG_HOME as string, 'faass');

  t.test('faassctl refuses bad deploys with one line and an exit code, writing nothing', async (t) => {
    const cases: [string[], RegExp, number][] = [
      [['deploy', 'Bad_Name', '--command', 'cat'], /Invalid function name "Bad_Name": .*\(FAASS_E_NAME_INVALID\)/, 2],
      [['deploy', '-leading', '--command', 'cat'], /Not enough non-option arguments: got 0, need at least 1 \("-leading" was read as options: a name starts with a letter or digit\)/, 2], // read as an option, so no name is left
      [['deploy', 'gateway', '--command', 'cat'], /Function name "gateway" is reserved: faassctl logs gateway shows faass's own gateway journal; choose another name .*\(FAASS_E_NAME_INVALID\)/, 2],
      [['deploy', 'api', '--command', 'cat'], /Function name "api" is reserved/, 2],
      [['deploy', 'a'.repeat(64), '--command', 'cat'], /Invalid function name "a{64}": use 1-63 .*\(FAASS_E_NAME_INVALID\)/, 2],
      [['deploy', 'nofile', '--runtime', 'node', '--from-file', '/nonexistent/handler.js'], /Cannot read \/nonexistent\/handler\.js: no such file .*\(FAASS_E_FILE_MISSING\)/, 2],
      [['deploy', 'ruby', '--runtime', 'ruby', '--command', 'cat'], /Unknown runtime "ruby": .*\(FAASS_E_RUNTIME_UNKNOWN\)/, 2],
      [['deploy', 'badtimeout', '--command', 'cat', '--timeout', 'abc'], /Invalid timeout "abc": expected seconds or a time span such as 30s, 5min or 1h 30min \(FAASS_E_CONFIG_INVALID\)/, 2],
      [['deploy', 'badtimeout2', '--command', 'cat', '--timeout', '3 fortnights'], /Invalid timeout "3 fortnights": expected seconds or a time span/, 2],
      [['deploy', 'badidle', '--command', 'cat', '--idle', '0.5'], /Invalid idle "0\.5": must be between 1s and .*\(FAASS_E_CONFIG_INVALID\)/, 2],
      [['deploy', 'badidle2', '--command', 'cat', '--idle', '500ms'], /Invalid idle "500ms": must be between 1s and 86400s \(1d\) \(FAASS_E_CONFIG_INVALID\)/, 2],
      [['deploy', 'badenv', '--command', 'cat', '--env', 'NOVALUE'], /Invalid --env "NOVALUE": expected KEY=VALUE \(FAASS_E_USAGE\)/, 2],
      [['deploy', 'badenv2', '--command', 'cat', '--env', 'A=line1\nline2'], /Invalid env A: control characters .*\(FAASS_E_CONFIG_INVALID\)/, 2],
      [['deploy', 'badproto', '--command', 'cat', '--protocol', 'json'], /Invalid protocol "json": expected one of raw, framed \(FAASS_E_CONFIG_INVALID\)/, 2],
      [['deploy', 'badmem', '--command', 'cat', '--memory-max', 'lots'], /Invalid memory_max "lots": .*\(FAASS_E_CONFIG_INVALID\)/, 2],
      [['deploy', 'nohandler', '--runtime', 'node'], /runtime node needs a handler file: a single file, a directory holding handler\.js or index\.js, or --handler FILE\.NAME \(FAASS_E_CONFIG_INVALID\)/, 2],
      [['describe', 'nope'], /No function named nope .*\(FAASS_E_FUNCTION_NOT_FOUND\)/, 3],
      [['delete', 'nope'], /No function named nope .*\(FAASS_E_FUNCTION_NOT_FOUND\)/, 3],
      [['invoke', 'NOPE'], /Invalid function name "NOPE": .*\(FAASS_E_NAME_INVALID\)/, 2],
      [['frobnicate'], /Unknown argument: frobnicate/, 2],
    ];
    for (const [args, re, code] of cases) {
      const r = await sb.faassctl(...args);
      t.equal(r.code, code, `faassctl ${args.join(' ').slice(0, 60)} exits ${code}`);
      t.match(r.stderr, re, 'says why');
      t.equal(r.stderr.trim().split('\n').length, 1, 'in one line');
    }
    t.same(fs.existsSync(path.join(cfgDir, 'functions')) ? fs.readdirSync(path.join(cfgDir, 'functions')) : [], [], 'no function file was written');
    const dataDir = path.join(sb.env.XDG_DATA_HOME as string, 'faass', 'code');
    t.same(fs.existsSync(dataDir) ? fs.readdirSync(dataDir).flatMap((d) => fs.readdirSync(path.join(dataDir, d))) : [], [], 'no code version was left behind');
    // Time spans as systemd writes them (TimeoutSec=, RuntimeMaxSec=): the function file keeps
    // seconds, and describe shows them.
    const spans = await sb.faassctl('deploy', 'spans', '--command', 'cat', '--timeout', '1min 30s', '--idle', '5min');
    t.equal(spans.code, 0, `--timeout 1min 30s --idle 5min is accepted: ${spans.stderr}`);
    const described = (await sb.faassctl('describe', 'spans')).stdout;
    t.match(described, /timeout\W+90\b/, `a timeout of 90 seconds: ${described}`);
    t.match(described, /idle\W+300\b/, 'an idle time of 300 seconds');
    t.equal((await sb.faassctl('delete', 'spans')).code, 0);
    const dir = fs.mkdtempSync(path.join(sb.dir, 'handlerdir-'));
    const missing = await sb.faassctl('deploy', 'kmissing', '--runtime', 'node', '--from-file', dir, '--handler', 'handler.hello');
    t.equal(missing.code, 2, 'a handler file missing from the directory is refused');
    t.match(missing.stderr, /FAASS_E_FILE_MISSING/);
  });

  t.test('gateway answers bad requests with JSON errors', async (t) => {
    t.equal((await request(sb.port, '/healthz', { method: 'GET' })).status, 200, '/healthz');
    const unknown = await request(sb.port, '/function/nope');
    t.equal(unknown.status, 404);
    t.equal(errorCode(unknown.body), 'FAASS_E_FUNCTION_NOT_FOUND');
    const bad = await request(sb.port, '/function/..%2F..%2Fetc');
    t.equal(bad.status, 400);
    t.equal(errorCode(bad.body), 'FAASS_E_NAME_INVALID');
    const none = await request(sb.port, '/nothing');
    t.equal(none.status, 404);
    t.equal(errorCode(none.body), 'FAASS_E_ROUTE_MISSING');
  });

  t.test('oversize body: 413; gateway timeout: 504', async (t) => {
    const conf = path.join(cfgDir, 'faass.conf');
    const original = fs.readFileSync(conf, 'utf8');
    fs.appendFileSync(conf, 'max_body=64K\ntimeout=2\n');
    // Later subtests hold calls longer than 2 s: they get a gateway with the settings before these.
    t.teardown(async () => {
      fs.writeFileSync(conf, original);
      await sb.systemctl('stop', 'faass-gateway.service');
    });
    t.equal((await sb.faassctl('deploy', 'cat', '--command', 'cat', '--idle', '1')).code, 0);
    await sb.systemctl('stop', 'faass-gateway.service'); // pick up the new setting
    const big = await request(sb.port, '/function/cat', { body: Buffer.alloc(100 * 1024, 97) });
    t.equal(big.status, 413);
    t.equal(errorCode(big.body), 'FAASS_E_BODY_TOO_LARGE');
    const ok = await request(sb.port, '/function/cat', { body: Buffer.alloc(60 * 1024, 97) });
    t.equal(ok.status, 200, 'a body under the limit passes');
    t.equal(ok.body.length, 60 * 1024);
    t.equal((await sb.faassctl('deploy', 'sleepy', '--command', 'sleep 60', '--timeout', '120', '--idle', '1')).code, 0);
    const started = Date.now();
    const slow = await request(sb.port, '/function/sleepy', { timeoutMs: 100000 });
    const took = Date.now() - started;
    t.equal(slow.status, 504, 'a function slower than the gateway timeout');
    t.equal(errorCode(slow.body), 'FAASS_E_GATEWAY_TIMEOUT');
    // Timing is the behaviour here: not before the gateway's 2 s, and long before the call's
    // natural end (60 s; its own timeout is 120 s). 30 s of margin for a busy machine.
    t.ok(took >= 1900, `not before the gateway timeout (${took} ms)`);
    t.ok(took < 30000, `long before the function would have ended (${took} ms of its 60 s)`);
  });

  t.test('malformed frames: 502 with a reason, never a crash', async (t) => {
    const script = writeFixture(
      sb,
      'framed.py',
      `#!/usr/bin/python3
import json, os, struct, sys
sys.stdin.read()
q = os.environ.get("Http_Query", "")
def frame(h, b): return struct.pack(">I", len(h)) + h + struct.pack(">I", len(b)) + b
out = {
  "good": frame(json.dumps({"code": 418, "headers": {"X-Teapot": "yes"}}).encode(), b"short and stout"),
  "short": b"\\x00\\x00",
  "hlen": struct.pack(">I", 1000) + b"{}",
  "json": frame(b"{not json", b"x"),
  "code": frame(json.dumps({"code": "200"}).encode(), b"x"),
  "blen": struct.pack(">I", 2) + b"{}" + struct.pack(">I", 50) + b"only a few",
  "trailing": frame(json.dumps({"code": 200}).encode(), b"x") + b"garbage",
  "header": frame(json.dumps({"code": 200, "headers": {"X-Bad": "a\\r\\nb"}}).encode(), b"x"),
  "empty": b"",
}[q]
sys.stdout.buffer.write(out)
`,
      0o755,
    );
    t.equal((await sb.faassctl('deploy', 'framed', '--runtime', 'exec', '--from-file', script, '--protocol', 'framed', '--idle', '1')).code, 0, 'deploy a framed function');
    const good = await request(sb.port, '/function/framed?good');
    t.equal(good.status, 418, 'frame code honoured');
    t.equal(good.headers['x-teapot'], 'yes', 'frame headers honoured');
    t.equal(good.body, 'short and stout');
    for (const q of ['short', 'hlen', 'json', 'code', 'blen', 'trailing', 'header', 'empty']) {
      const r = await request(sb.port, `/function/framed?${q}`);
      t.equal(r.status, 502, `${q}: 502`);
      t.equal(errorCode(r.body), 'FAASS_E_FRAME_MALFORMED', `${q}: says the frame is malformed`);
    }
    t.equal((await request(sb.port, '/function/framed?good')).status, 418, 'the runner still serves');
  });

  t.test('a function that hangs: 504, its whole process group killed', async (t) => {
    t.equal((await sb.faassctl('deploy', 'hang', '--command', 'sleep 300 & sleep 301', '--timeout', '1', '--idle', '300')).code, 0);
    // A long idle keeps the runner up: when it exits, systemd empties its cgroup anyway and
    // would hide a process group the runner failed to kill.
    t.teardown(() => sb.systemctl('stop', 'faass-fn-hang.service'));
    const r = await request(sb.port, '/function/hang');
    t.equal(r.status, 504);
    // The code, not the clock, says whose timeout ended it: the function's 1 s, not the
    // gateway's (FAASS_E_GATEWAY_TIMEOUT) nor the natural end (300 s, past the client's 60 s).
    t.equal(errorCode(r.body), 'FAASS_E_FUNCTION_TIMEOUT');
    // Only this function's unit: an earlier subtest's call (sleepy's `sleep 4`, cut off by the
    // gateway timeout) may still be finishing in its own runner, and is not this test's business.
    const sleepsLeft = () =>
      faassPids(sb, 'faass-fn-hang.service').filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sleep');
        } catch {
          return false; // gone as we looked
        }
      });
    await waitFor('the hanging call\'s processes to be gone', () => sleepsLeft().length === 0, 20000).catch(() => undefined);
    t.same(sleepsLeft(), [], 'no sleep process is left in the function\'s unit');
    t.equal(await unitState(sb, 'faass-fn-hang.service'), 'active/running', 'while its runner still runs (so no one else emptied the cgroup)');
  });

  t.test('a function that floods stdout: 502, killed', async (t) => {
    t.equal((await sb.faassctl('deploy', 'flood', '--command', 'yes', '--max-output', '1M', '--idle', '1')).code, 0);
    const r = await request(sb.port, '/function/flood');
    t.equal(r.status, 502);
    t.equal(errorCode(r.body), 'FAASS_E_OUTPUT_TOO_LARGE');
  });

  t.test('a failing function: 500, its stderr in the journal at priority err', async (t) => {
    const marker = `boom-${Date.now()}`;
    t.equal((await sb.faassctl('deploy', 'fails', '--command', `sh -c 'echo ${marker} >&2; exit 3'`, '--idle', '1')).code, 0);
    const r = await request(sb.port, '/function/fails');
    t.equal(r.status, 500);
    t.equal(errorCode(r.body), 'FAASS_E_FUNCTION_FAILED');
    t.notMatch(r.body, marker, "stderr is not sent to the caller");
    const errors = () => sandboxJournal(sb, '--user-unit=faass-fn-fails.service', '-p', 'err');
    await waitFor('the journal line', async () => (await errors()).includes(marker), 10000);
    t.match(await errors(), new RegExp(`fails\\[${r.headers['x-call-id']}\\]: ${marker}`), 'tagged with function and call id');
    const logs = await sb.faassctl('logs', 'fails', '-p', 'err');
    t.match(logs.stdout, marker, 'faassctl logs shows it');
  });

  t.test('node handlers that throw, crash or hang; a broken module', async (t) => {
    const file = writeFixture(
      sb,
      'bad.js',
      `let calls = 0;
module.exports = async (event) => {
  calls++;
  if (event.query === 'throw') throw new Error('handler exploded');
  if (event.query === 'exit') process.exit(7);
  if (event.query === 'hang') await new Promise(() => {});
  return 'ok ' + require('node:worker_threads').threadId + ' ' + calls;
};
`,
    );
    t.equal((await sb.faassctl('deploy', 'badnode', '--runtime', 'node', '--from-file', file, '--timeout', '1', '--workers', '1', '--idle', '1')).code, 0);
    const first = await request(sb.port, '/function/badnode');
    t.match(first.body, /^ok \d+ 1$/);
    const pid = first.body.split(' ')[1];
    const thrown = await request(sb.port, '/function/badnode?throw');
    t.equal(thrown.status, 500);
    t.equal(errorCode(thrown.body), 'FAASS_E_FUNCTION_FAILED');
    t.notMatch(thrown.body, 'exploded', 'the stack stays in the journal');
    t.equal((await request(sb.port, '/function/badnode')).body, `ok ${pid} 3`, 'the same warm worker keeps serving after a throw');
    const crashed = await request(sb.port, '/function/badnode?exit');
    t.equal(crashed.status, 502);
    t.equal(errorCode(crashed.body), 'FAASS_E_WORKER_CRASHED');
    const hung = await request(sb.port, '/function/badnode?hang');
    t.equal(hung.status, 504);
    const after = await request(sb.port, '/function/badnode');
    t.equal(after.status, 200, 'a replaced worker serves');
    t.not(after.body.split(' ')[1], pid, 'by a new worker');

    const broken = writeFixture(sb, 'broken.js', 'module.exports = (;\n');
    t.equal((await sb.faassctl('deploy', 'broken', '--runtime', 'node', '--from-file', broken, '--idle', '1')).code, 0);
    const r = await request(sb.port, '/function/broken');
    t.equal(r.status, 500);
    t.equal(errorCode(r.body), 'FAASS_E_HANDLER_LOAD');
  });

  t.test('max_inflight: 429 with Retry-After', async (t) => {
    // Each call runs until the test lets it go (a file appears), so two calls are surely in
    // flight when the other two arrive, however slow the machine.
    const release = path.join(sb.dir, 'fixtures', 'release-slow');
    fs.mkdirSync(path.dirname(release), { recursive: true });
    t.equal((await sb.faassctl('deploy', 'slow', '--command', `sh -c 'while [ ! -e ${release} ]; do sleep 0.05; done; echo done'`, '--max-inflight', '2', '--idle', '1')).code, 0);
    fs.writeFileSync(release, '');
    t.equal((await request(sb.port, '/function/slow')).body, 'done\n', 'a call runs until it is let go (and warms the runner)');
    fs.rmSync(release);
    const answered: Reply[] = [];
    const pending = Array.from({ length: 4 }, () => request(sb.port, '/function/slow').then((r) => (answered.push(r), r)));
    await waitFor('two of the four calls to be answered while two are held', () => answered.length >= 2, 30000).catch(() => undefined);
    t.same(answered.map((r) => r.status), [429, 429], 'the two over max_inflight are refused at once');
    fs.writeFileSync(release, '');
    const replies = await Promise.all(pending);
    const statuses = replies.map((r) => r.status).sort();
    t.same(statuses, [200, 200, 429, 429], 'two run, two are refused');
    const refused = replies.find((r) => r.status === 429);
    t.equal(refused?.headers['retry-after'], '1');
    t.equal(errorCode(refused?.body ?? ''), 'FAASS_E_TOO_MANY_REQUESTS');
  });

  t.test('a deleted function is gone, units included', async (t) => {
    const r = await sb.faassctl('delete', 'slow');
    t.equal(r.code, 0);
    let status = 0;
    await waitFor('the route to be gone', async () => (status = (await request(sb.port, '/function/slow')).status) === 404, 20000).catch(() => undefined);
    t.equal(status, 404, 'its route answers 404');
    t.notOk(fs.existsSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'systemd/user/faass-fn-slow.socket')), 'units removed');
  });
});

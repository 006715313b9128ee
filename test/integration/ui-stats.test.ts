// The web console's figures (issue 16) through the real gateway: GET /system/stats and
// GET /system/function/NAME/history count the calls made, their errors and latency, and say the
// state of the function's units as systemd has it (running, idle after a stop, failed after a
// SIGKILL); bad windows, points and names are refused; the console's session reaches them too.
import t from 'tap';
import { startSandbox, setupConsole, request, errorCode, waitFor, unitState, writeFixture } from '../support/sandbox';

interface Row {
  name: string;
  kind: string;
  runtime: string | null;
  state: string;
  calls: number;
  errors: number;
  refused: number;
  p50: number | null;
  p99: number | null;
  coldStarts: number;
  memoryPerCall: number | null;
  queue: { queued: number; oldest: string | null; dead: number };
  lastCall: string | null;
  error?: string;
}

const CALLS = 7;
const FAILING = 2; // of them, answered 500

t.test('stats and history through the gateway', async (t) => {
  const sb = await startSandbox(t);
  const cp = await setupConsole(sb, 5); // the console's own address, for its session below
  const root = (await sb.faassctl('credentials', 'add', 'root', '--admin')).stdout.trim();
  const admin = { authorization: `Bearer ${root}` };
  const get = (p: string, headers: Record<string, string> = admin) => request(sb.port, p, { method: 'GET', headers });
  const json = async <T>(p: string): Promise<T> => {
    const r = await get(p);
    if (r.status !== 200) throw new Error(`GET ${p}: ${r.status} ${r.body}`);
    return JSON.parse(r.body) as T;
  };
  const stats = async (query = '') => json<{ window: number; from: string | null; now: string; functions: Row[] }>(`/system/stats${query}`);
  const row = async (name: string) => (await stats()).functions.find((f) => f.name === name) as Row;

  // A script that fails (exit 1: a 500) when its body says so; a long idle keeps its runner up
  // between the steps, so its state is what the test makes it.
  const script = writeFixture(sb, 'maybe.sh', '#!/bin/sh\nread -r body\n[ "$body" = fail ] && exit 1\necho ok\n', 0o755);
  const dep = await sb.faassctl('deploy', 'maybe', '--runtime', 'exec', '--from-file', script, '--idle', '300');
  t.equal(dep.code, 0, dep.stderr);
  t.equal((await sb.faassctl('deploy', 'other', '--command', 'cat')).code, 0);

  t.test('before any call: a row each, in order, nothing counted', async (t) => {
    const s = await stats();
    t.same(s.functions.map((f) => f.name), ['maybe', 'other'], 'every function, in the list order');
    t.equal(s.window, 3600, 'the default window: an hour');
    t.equal(s.from, null, 'no snapshot yet: figures since counting began');
    const m = s.functions[0];
    t.same({ kind: m.kind, runtime: m.runtime, calls: m.calls, errors: m.errors, p50: m.p50, lastCall: m.lastCall }, { kind: 'function', runtime: 'exec', calls: 0, errors: 0, p50: null, lastCall: null });
    t.equal(m.state, 'idle', 'its socket listens, nothing runs');
  });

  t.test('calls counted: calls, 5xx errors, p50, cold start; the history sums to them', async (t) => {
    for (let i = 0; i < CALLS; i++) {
      const r = await request(sb.port, '/function/maybe', { body: i < FAILING ? 'fail\n' : 'hi\n' });
      t.equal(r.status, i < FAILING ? 500 : 200, `call ${i}`);
    }
    await waitFor('the gateway to write its counts', async () => (await row('maybe')).calls === CALLS);
    const m = await row('maybe');
    t.equal(m.errors, FAILING, 'errors: the 500s');
    t.equal(m.refused, 0);
    t.ok(m.p50 !== null && m.p50 > 0, `p50 ${m.p50}`);
    t.ok(m.p99 !== null && (m.p99 as number) >= (m.p50 as number), `p99 ${m.p99}`);
    t.ok(m.lastCall !== null && Date.parse(m.lastCall) > sb.started, 'the last call: during this run');
    t.ok(m.memoryPerCall === null || m.memoryPerCall >= 0, `memory per call: byte-seconds or not measured (${m.memoryPerCall})`);
    t.same(m.queue, { queued: 0, oldest: null, dead: 0 }, 'its queue: nothing waiting, no dead letter');
    await waitFor('the runner to count its cold start', async () => (await row('maybe')).coldStarts === 1);
    t.equal((await row('other')).calls, 0, 'another function: nothing');
    const h = await json<{ name: string; window: number; step: number; points: { t: string; calls: number; errors: number; p50: number | null; coldStarts: number }[] }>('/system/function/maybe/history?window=15m&points=30');
    t.equal(h.window, 900);
    t.equal(h.step, 30, 'the step: the window over the points');
    t.equal(h.points.length, 30);
    t.equal(h.points.reduce((n, p) => n + p.calls, 0), CALLS, 'the points sum to the calls');
    t.equal(h.points.reduce((n, p) => n + p.errors, 0), FAILING, 'and to the errors');
    t.ok(h.points.every((p) => p.calls > 0 || (p.p50 === null && p.errors === 0)), 'a step with no call: zeros, no quantile');
    t.ok(Date.parse(h.points[29].t) - Date.parse(h.points[0].t) === 29 * 30_000, 'equal steps');
  });

  t.test('state: running, idle after a stop, failed after a SIGKILL', async (t) => {
    await waitFor('the runner to be up', async () => (await unitState(sb, 'faass-fn-maybe.service')) === 'active/running');
    t.equal((await row('maybe')).state, 'running', 'its runner runs (idle 300 s)');
    t.equal(await unitState(sb, 'faass-fn-maybe.service'), 'active/running', 'and still did after the answer');
    t.equal((await sb.systemctl('stop', 'faass-fn-maybe.service')).code, 0);
    t.equal((await row('maybe')).state, 'idle', 'stopped: idle, its socket still listening');
    t.equal((await request(sb.port, '/function/maybe', { body: 'hi\n' })).status, 200, 'a call starts it again');
    await waitFor('the runner to be up', async () => (await unitState(sb, 'faass-fn-maybe.service')) === 'active/running');
    t.equal((await sb.systemctl('kill', '--signal=SIGKILL', 'faass-fn-maybe.service')).code, 0);
    await waitFor('the runner to fail', async () => (await unitState(sb, 'faass-fn-maybe.service')).startsWith('failed'));
    t.equal((await row('maybe')).state, 'failed', 'killed: failed');
  });

  t.test('a function whose file does not parse still has its row', async (t) => {
    const conf = `${sb.env.XDG_CONFIG_HOME}/faass/functions/other.conf`;
    const w = await sb.run('sh', ['-c', `printf 'runtime = nonsense\\n' > '${conf}'`]);
    t.equal(w.code, 0, w.stderr);
    const o = await row('other');
    t.equal(o.kind, null);
    t.match(o.error, /\S/, `its error: ${o.error}`);
    t.equal(o.calls, 0);
  });

  t.test('bad window, points and names; only admins; the console session', async (t) => {
    for (const p of ['/system/stats?window=abc', '/system/stats?window=10', '/system/stats?window=40d', '/system/function/maybe/history?points=1', '/system/function/maybe/history?points=501', '/system/function/maybe/history?window=x']) {
      const r = await get(p);
      t.equal(r.status, 400, `${p}: 400`);
      t.equal(errorCode(r.body), 'FAASS_E_USAGE');
      t.match((JSON.parse(r.body) as { error: { message: string } }).error.message, /^Invalid (window|points) /, 'a message that names what is wrong');
    }
    const missing = await get('/system/function/nobody/history');
    t.equal(missing.status, 404, 'an unknown function: 404');
    t.equal(errorCode(missing.body), 'FAASS_E_FUNCTION_NOT_FOUND');
    const bad = await get('/system/function/Bad_Name/history');
    t.equal(bad.status, 400, 'an invalid name: 400');
    t.equal(errorCode(bad.body), 'FAASS_E_NAME_INVALID');
    t.equal((await get('/system/function/%zz/history')).status, 400, 'a broken escape: 400, not 500');
    t.equal((await request(sb.port, '/system/stats', { method: 'POST', headers: admin })).status, 405, 'POST: 405');
    t.equal((await get('/system/stats', {})).status, 401, 'no credential: 401');
    const signIn = await request(cp, '/ui/session', { method: 'POST', body: JSON.stringify({ token: root }), headers: { 'content-type': 'application/json' } });
    t.equal(signIn.status, 200);
    const cookie = (signIn.headers['set-cookie']?.[0] ?? '').split('; ')[0];
    const onConsole = (p: string, headers: Record<string, string>) => request(cp, p, { method: 'GET', headers });
    const csrf = (JSON.parse((await onConsole('/ui/session', { cookie })).body) as { csrfToken: string }).csrfToken;
    const viaConsole = await onConsole('/system/stats?window=15m', { cookie, 'x-csrf-token': csrf });
    t.equal(viaConsole.status, 200, 'the console: its cookie and CSRF token');
    t.equal((JSON.parse(viaConsole.body) as { window: number }).window, 900);
  });
});

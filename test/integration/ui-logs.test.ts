// The web console's server-side needs (issue 16) through the real gateway and faass-api: a
// function called with the console session (cookie + X-CSRF-Token, no Authorization), and its
// log read and followed at GET /system/logs/NAME as NDJSON; a follow stream's journalctl ends
// when its client goes away.
import t from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { startSandbox, setupGateway, setupConsole, request, errorCode, waitFor, systemdCgroup, Reply, TEST_USER } from '../support/sandbox';

interface Entry {
  time: string;
  priority: number;
  unit: string;
  message: string;
  cursor: string;
}

const entries = (body: string): Entry[] =>
  body
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Entry);

// The PIDs in a unit's cgroup of the sandbox (none once the unit is gone).
function unitPids(cgroup: string, unit: string): number[] {
  const found: number[] = [];
  const walk = (d: string): void => {
    let names: fs.Dirent[];
    try {
      names = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return; // gone as we looked
    }
    for (const e of names) {
      if (!e.isDirectory()) continue;
      const sub = path.join(d, e.name);
      if (e.name === unit) {
        try {
          found.push(...fs.readFileSync(path.join(sub, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
        } catch {
          // gone as we looked
        }
      } else walk(sub);
    }
  };
  walk(cgroup);
  return found;
}

// A follow stream: the entries as they arrive, and its end (the test ends it).
function follow(port: number, urlPath: string, headers: Record<string, string>): Promise<{ status: number; type: string; got: Entry[]; ended: () => boolean; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, headers }, (res) => {
      const got: Entry[] = [];
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        const parts = (rest + d).split('\n');
        rest = parts.pop() ?? '';
        got.push(...parts.filter(Boolean).map((l) => JSON.parse(l) as Entry));
      });
      res.on('error', () => undefined); // ended by close()
      let ended = false; // the answer ended whole (its last chunk came), not cut
      res.on('end', () => (ended = true));
      resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), got, ended: () => ended, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

t.test('console session calls a protected function; its log read and followed through the API', async (t) => {
  const sb = await startSandbox(t);
  // idle 30 s: the gateway stays up through the file, so what ends a follow stream's journalctl
  // is its client going away, not the gateway's idle exit closing its connection to the API.
  const cp = await setupConsole(sb, 30); // the console's own address: the session counts there only
  const name = `tail${process.pid}`; // the journal is the machine's: a name no other run uses
  t.equal((await sb.faassctl('credentials', 'add', 'root', '--admin')).code, 0);
  t.equal((await sb.faassctl('credentials', 'add', 'ci')).code, 0);
  const dep = await sb.faassctl('deploy', name, '--auth', 'ci', '--command', 'echo "marker:$(cat)" >&2; echo "cookie=[$Http_Cookie]"');
  t.equal(dep.code, 0, dep.stderr);
  const token = (await sb.faassctl('credentials', 'add', 'ops', '--admin')).stdout.trim();
  const origin = `http://127.0.0.1:${cp}`;
  const signIn = await request(cp, '/ui/session', { method: 'POST', body: JSON.stringify({ token }), headers: { 'content-type': 'application/json', origin, host: `127.0.0.1:${cp}` } });
  t.equal(signIn.status, 200, 'signed in');
  const cookie = (signIn.headers['set-cookie']?.[0] ?? '').split('; ')[0];
  const csrf = (JSON.parse((await request(cp, '/ui/session', { method: 'GET', headers: { cookie } })).body) as { csrfToken: string }).csrfToken;
  const session = { cookie: `a=1; ${cookie}`, 'x-csrf-token': csrf };
  const get = (p: string, headers: Record<string, string> = session): Promise<Reply> => request(cp, p, { method: 'GET', headers });

  t.test('the console session calls a protected function', async (t) => {
    const ok = await request(cp, `/function/${name}`, { body: 'one', headers: session });
    t.equal(ok.status, 200, `cookie and CSRF token: 200 ${ok.body}`);
    t.equal(ok.body, 'cookie=[a=1]\n', 'the function sees the other cookies, never the session');
    const noCsrf = await request(cp, `/function/${name}`, { body: 'x', headers: { cookie } });
    t.ok([401, 403].includes(noCsrf.status), `the cookie without the CSRF token: refused (${noCsrf.status})`);
    t.notOk(noCsrf.headers['www-authenticate'], 'with no challenge a browser would answer with its dialog');
    const [who, exp, mac] = cookie.split('=')[1].split('.');
    const tampered = `faass_session=${who}.${Number(exp) + 86400}.${mac}`; // a longer life, the MAC unchanged
    t.equal((await request(cp, `/function/${name}`, { body: 'x', headers: { cookie: tampered, 'x-csrf-token': csrf } })).status, 401, 'a tampered cookie: 401');
    t.equal((await request(cp, `/function/${name}`, { body: 'x', headers: { ...session, origin: 'http://evil.example' } })).status, 403, 'from another origin: 403');
    t.equal((await request(cp, `/function/${name}`, { body: 'x' })).status, 401, 'nothing: 401 as before');
    const queued = await request(cp, `/async-function/${name}`, { body: 'queued', headers: session });
    t.equal(queued.status, 202, 'an asynchronous call with the session: 202');
    t.equal((await request(cp, `/async-function/${name}`, { body: 'x', headers: { cookie } })).status, 403, 'without the CSRF token: refused');
  });

  t.test('GET /system/logs/NAME: the last lines as NDJSON', async (t) => {
    const call = await request(cp, `/function/${name}`, { body: 'logged', headers: session });
    t.equal(call.status, 200);
    const id = String(call.headers['x-call-id']);
    let r: Reply = { status: 0, headers: {}, body: '' };
    let got: Entry[] = [];
    await waitFor('the call line in the log', async () => {
      r = await get(`/system/logs/${name}?lines=1000`);
      got = r.status === 200 ? entries(r.body) : [];
      return got.some((e) => e.message.includes(`call=${id}`));
    });
    t.match(r.headers['content-type'], /^application\/x-ndjson/);
    const marker = got.find((e) => e.message === `${name}[${id}]: marker:logged`);
    t.ok(marker, 'the line the function wrote, with its call id');
    t.equal(marker?.unit, `faass-fn-${name}.service`, 'its unit');
    t.equal(marker?.priority, 3, 'stderr: err');
    t.ok(marker && Date.parse(marker.time) > 0 && marker.cursor, 'a time and a cursor');
    const callLine = got.find((e) => e.message.includes(`call=${id}`));
    t.match(callLine?.message, /status=200/, 'and its call line');
    const cli = await sb.faassctl('logs', name, '-n', '1000');
    t.ok(cli.stdout.includes('marker:logged') && cli.stdout.includes(`call=${id}`), 'the lines faassctl logs shows');
    t.equal(entries((await get(`/system/logs/${name}?lines=1`)).body).length, 1, 'lines=1: one line');
    const first = got[0];
    const after = entries((await get(`/system/logs/${name}?lines=1000&after=${encodeURIComponent(first.cursor)}`)).body);
    // Lines logged since (the queued call's) may follow: the ones read before come first, in order.
    t.same(after.slice(0, got.length - 1).map((e) => e.cursor), got.slice(1).map((e) => e.cursor), 'after=CURSOR: the lines after it, in order');
    t.notOk(after.some((e) => e.cursor === first.cursor), 'and not the line itself');
  });

  t.test('bad input', async (t) => {
    for (const q of ['lines=1001', 'lines=-1', 'lines=ten', 'follow=yes', 'after=%3Bnot%20a%20cursor', 'after=s%3Dzz']) {
      const r = await get(`/system/logs/${name}?${q}`);
      t.equal(r.status, 400, `${q}: 400`);
      t.equal(errorCode(r.body), 'FAASS_E_USAGE');
    }
    const missing = await get('/system/logs/nosuch');
    t.equal(missing.status, 404, 'no such function: 404');
    t.equal(errorCode(missing.body), 'FAASS_E_FUNCTION_NOT_FOUND');
    t.equal((await get('/system/logs/gateway?lines=1')).status, 200, 'the gateway\'s log, as faassctl logs gateway');
    t.equal((await get(`/system/logs/${name}`, { cookie })).status, 403, 'the session without the CSRF token: 403');
    t.equal((await request(cp, `/system/logs/${name}`, { method: 'DELETE', headers: session })).status, 405, 'DELETE: 405');
  });

  t.test('follow=1: new lines as they come; the client gone, journalctl is gone', async (t) => {
    const stream = await follow(cp, `/system/logs/${name}?lines=0&follow=1`, session);
    t.equal(stream.status, 200);
    t.match(stream.type, /^application\/x-ndjson/);
    const call = await request(cp, `/function/${name}`, { body: 'followed', headers: session });
    t.equal(call.status, 200);
    const id = String(call.headers['x-call-id']);
    const seen = (what: string, line: (e: Entry) => boolean) =>
      waitFor(what, () => stream.got.some(line)).catch(async (e: Error) => {
        t.comment(`the stream got: ${JSON.stringify(stream.got)}; the log now: ${(await get(`/system/logs/${name}?lines=5`)).body}`);
        throw e;
      });
    await seen('the function\'s new line on the open stream', (e) => e.message === `${name}[${id}]: marker:followed`);
    await seen('its call line too', (e) => e.message.includes(`call=${id}`));
    t.notOk(stream.got.some((e) => e.message.endsWith(': marker:logged')), 'lines=0: none from before');
    const mainPid = async (unit: string) => Number((await sb.systemctl('show', unit, '-p', 'MainPID', '--value')).stdout.trim());
    const apiMain = await mainPid('faass-api.service');
    const gateway = await mainPid('faass-gateway.service');
    const cgroup = systemdCgroup(sb);
    const tails = unitPids(cgroup, 'faass-api.service').filter((p) => p !== apiMain);
    t.ok(tails.length >= 1, `the API runs journalctl for the stream (PIDs ${tails.join(' ')})`);
    stream.close();
    await waitFor('journalctl to end with its client', () => tails.every((p) => !unitPids(cgroup, 'faass-api.service').includes(p)));
    t.pass('no journalctl left in the API\'s cgroup');
    t.equal(await mainPid('faass-gateway.service'), gateway, 'while the same gateway still runs');
  });

  // A stop must not wait its drain time (faass-api 120 s, the gateway timeout+1) for a stream
  // that never finishes: it ends the stream whole, and the page resumes with after=.
  for (const unit of ['faass-api.service', 'faass-gateway.service']) {
    t.test(`a stop of ${unit} ends an open stream at once, cleanly`, async (t) => {
      const stream = await follow(cp, `/system/logs/${name}?lines=1&follow=1`, session);
      t.equal(stream.status, 200);
      await waitFor('the stream\'s first line', () => stream.got.length > 0);
      t.equal((await sb.systemctl('stop', '--no-block', unit)).code, 0);
      await waitFor('the stream to end', () => stream.ended());
      await waitFor(`${unit} to stop`, async () => (await sb.systemctl('is-active', unit)).stdout.trim() !== 'active' && (await sb.systemctl('is-active', unit)).stdout.trim() !== 'deactivating');
      stream.close();
      const after = entries((await get(`/system/logs/${name}?lines=1000&after=${encodeURIComponent(stream.got[stream.got.length - 1].cursor)}`)).body);
      t.notOk(after.some((e) => stream.got.some((g) => g.cursor === e.cursor)), 'resumed with after=: no line twice');
    });
  }
});

// faass-api.service's sandboxing under an ordinary user's manager (stricter than root's): its
// journalctl reads the journal and follows it (the account is in systemd-journal, as a user who
// reads system logs is).
t.test('an ordinary user\'s API reads and follows the journal', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 30);
  const name = `tailu${process.pid}`;
  const token = (await sb.faassctl('credentials', 'add', 'ops', '--admin')).stdout.trim();
  t.equal((await sb.faassctl('deploy', name, '--command', 'echo "marker:$(cat)" >&2')).code, 0);
  const auth = { authorization: `Bearer ${token}` };
  const stream = await follow(sb.port, `/system/logs/${name}?lines=0&follow=1`, auth);
  t.equal(stream.status, 200);
  const call = await request(sb.port, `/function/${name}`, { body: 'user' });
  const line = `${name}[${String(call.headers['x-call-id'])}]: marker:user`;
  await waitFor('the new line on the stream', () => stream.got.some((e) => e.message === line));
  stream.close();
  const r = await request(sb.port, `/system/logs/${name}`, { method: 'GET', headers: auth });
  t.equal(r.status, 200, r.body);
  t.ok(entries(r.body).some((e) => e.message === line), 'and in the last lines');
});

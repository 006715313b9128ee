// The management API through the real gateway and faass-api's socket unit: off without an
// admin, admins only, the same deploys as faassctl, bad input refused, no secret echoed.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as net from 'node:net';
import { spawnSync } from 'node:child_process';
import * as http from 'node:http';
import { startSandbox, setupGateway, request, Reply, writeFixture, errorCode, waitFor } from '../support/sandbox';
import { rawTarGz } from '../support/raw-tar';
import { MAX_ENTRIES } from '../../src/api/upload';

t.test('management API', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 30);
  const replies: Reply[] = [];
  let token = '';
  const api = async (method: string, p: string, body?: unknown, auth: string | null = token) => {
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    const r = await request(sb.port, p, { method, body: text, headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) } });
    replies.push(r);
    return r;
  };

  const off = await api('GET', '/system/functions');
  t.equal(off.status, 404, 'without an admin credential the API is off');
  t.equal(errorCode(off.body), 'FAASS_E_API_DISABLED');
  const add = await sb.faassctl('credentials', 'add', 'root', '--admin');
  t.equal(add.code, 0, `credentials add --admin ${add.stderr}`);
  token = add.stdout.trim();
  const ci = (await sb.faassctl('credentials', 'add', 'ci')).stdout.trim();
  t.equal((await sb.systemctl('is-active', 'faass-api.socket')).stdout.trim(), 'active', 'adding an admin turns the API socket on');

  t.test('auth', async (t) => {
    t.equal((await api('GET', '/system/functions', undefined, null)).status, 401, 'no credential: 401');
    t.equal((await api('GET', '/system/functions', undefined, `root.${'A'.repeat(43)}`)).status, 401, 'a wrong one: 401');
    const notAdmin = await api('GET', '/system/functions', undefined, ci);
    t.equal(notAdmin.status, 403, 'a credential that is not an admin: 403');
    t.match(notAdmin.body, /not an admin/);
    const list = await api('GET', '/system/functions');
    t.equal(list.status, 200, 'an admin: 200');
    t.same(JSON.parse(list.body), [], 'no functions yet');
  });

  t.test('create, call, update, get, list, delete', async (t) => {
    const created = await api('POST', '/system/functions', { name: 'echo', runtime: 'exec', command: 'cat', env: { GREETING: 'hi' } });
    t.equal(created.status, 201, `POST creates ${created.body}`);
    t.equal(JSON.parse(created.body).url, '/function/echo');
    t.equal((await request(sb.port, '/function/echo', { body: 'through the API' })).body, 'through the API', 'the function answers');
    const again = await api('POST', '/system/functions', { name: 'echo', runtime: 'exec', command: 'cat' });
    t.equal(again.status, 409, 'POST of an existing name: 409');
    t.equal(errorCode(again.body), 'FAASS_E_FUNCTION_EXISTS');
    t.equal((await api('PUT', '/system/functions', { name: 'echo', runtime: 'exec', command: 'tr a-z A-Z' })).status, 200, 'PUT updates');
    t.equal((await request(sb.port, '/function/echo', { body: 'loud' })).body, 'LOUD', 'the next call runs the new definition');
    t.equal((await api('PUT', '/system/functions', { name: 'nope', runtime: 'exec', command: 'cat' })).status, 404, 'PUT of a missing function: 404');
    const one = JSON.parse((await api('GET', '/system/function/echo')).body);
    t.same([one.name, one.runtime, one.command, one.timeout], ['echo', 'exec', 'tr a-z A-Z', 30]);
    t.same(JSON.parse((await api('GET', '/system/functions')).body).map((f: { name: string }) => f.name), ['echo']);
    t.equal((await sb.faassctl('describe', 'echo')).code, 0, 'faassctl sees what the API deployed');
    const del = await api('DELETE', '/system/functions', { functionName: 'echo' });
    t.equal(del.status, 200, 'DELETE with {functionName}');
    t.equal((await request(sb.port, '/function/echo', { body: 'x' })).status, 404, 'the route is gone with it');
    t.equal((await api('DELETE', '/system/function/echo')).status, 404, 'deleting it again: 404');
  });

  t.test("the original faass's routes", async (t) => {
    t.equal((await api('PUT', '/api/functions/legacy', { command: 'echo legacy' })).status, 201, 'PUT /api/functions/NAME creates (a command alone: runtime exec)');
    t.equal((await request(sb.port, '/function/legacy', { body: '' })).body, 'legacy\n');
    t.equal(JSON.parse((await api('GET', '/api/functions/legacy')).body).command, 'echo legacy');
    const conf = JSON.parse((await api('GET', '/api/configuration')).body);
    t.equal(conf.gateway.listen, `127.0.0.1:${sb.port}`);
    t.equal((await api('DELETE', '/api/functions/legacy')).status, 200);
    t.equal((await request(sb.port, '/function/legacy')).status, 404, 'DELETE removes the route too');
  });

  t.test('bad input: 400 with a code naming the field, nothing written', async (t) => {
    const cases: [unknown, string, RegExp][] = [
      [{ name: 'Bad_Name', runtime: 'exec', command: 'cat' }, 'FAASS_E_NAME_INVALID', /name/],
      [{ name: 'r', runtime: 'ruby', command: 'cat' }, 'FAASS_E_RUNTIME_UNKNOWN', /ruby/],
      [{ name: 'u', runtime: 'exec', command: 'cat', ExecStart: '/bin/sh' }, 'FAASS_E_CONFIG_INVALID', /Unknown field "ExecStart"/],
      [{ name: 'n', runtime: 'exec', command: 'cat\nExecStartPre=/bin/sh' }, 'FAASS_E_CONFIG_INVALID', /command/],
      [{ name: 'e', runtime: 'exec', command: 'cat', env: { A: 'x\ny' } }, 'FAASS_E_CONFIG_INVALID', /env A|control/],
      [{ name: 't', runtime: 'exec', command: 'cat', timeout: 'soon' }, 'FAASS_E_CONFIG_INVALID', /timeout/],
      [{ name: 'b', runtime: 'docker', image: 'x', build: '/etc' }, 'FAASS_E_CONFIG_INVALID', /not a host path/],
      [{ name: 'o', runtime: 'exec', command: { nested: true } }, 'FAASS_E_CONFIG_INVALID', /command/],
      ['{not json', 'FAASS_E_CONFIG_INVALID', /JSON/],
      [[1, 2], 'FAASS_E_CONFIG_INVALID', /object/],
    ];
    for (const [body, code, re] of cases) {
      const r = await api('POST', '/system/functions', body);
      t.equal(r.status, 400, `${JSON.stringify(body).slice(0, 60)}: 400`);
      t.equal(errorCode(r.body), code);
      t.match(JSON.parse(r.body).error.message, re, 'naming the field');
    }
    const big = await api('POST', '/system/functions', JSON.stringify({ name: 'big', runtime: 'exec', command: 'cat', env: { A: 'x'.repeat(2 * 1024 * 1024) } }));
    t.equal(big.status, 413, 'an oversize body: 413');
    t.equal((await api('PATCH', '/system/functions', {})).status, 405, 'an unknown method: 405');
    const fnDir = path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'functions');
    t.same(fs.existsSync(fnDir) ? fs.readdirSync(fnDir) : [], [], 'no function file was written');
  });

  t.test('two concurrent updates of one function: one of the two, whole', async (t) => {
    t.equal((await api('POST', '/system/functions', { name: 'race', runtime: 'exec', command: 'echo start' })).status, 201);
    const [a, b] = await Promise.all([api('PUT', '/system/functions', { name: 'race', runtime: 'exec', command: 'echo one', timeout: 11 }), api('PUT', '/system/functions', { name: 'race', runtime: 'exec', command: 'echo two', timeout: 22 })]);
    t.same([a.status, b.status], [200, 200]);
    const got = JSON.parse((await api('GET', '/system/function/race')).body);
    t.ok((got.command === 'echo one' && got.timeout === 11) || (got.command === 'echo two' && got.timeout === 22), `the file is one update whole: ${got.command} ${got.timeout}`);
    t.match((await request(sb.port, '/function/race', { body: '' })).body, /^(one|two)\n$/);
  });

  t.test('code upload: a tar.gz or one file, traversal refused, size limited', async (t) => {
    const put = async (p: string, body: Buffer, type: string) => {
      const r = await request(sb.port, p, { method: 'PUT', body, headers: { 'content-type': type, authorization: `Bearer ${token}` } });
      replies.push(r);
      return r;
    };
    writeFixture(sb, 'up/handler.js', "exports.handler = async (event) => 'v1 ' + event.data;\n");
    t.equal((await sb.faassctl('deploy', 'up', '--runtime', 'node', '--from-file', path.join(sb.dir, 'fixtures', 'up'), '--handler', 'handler.handler')).code, 0);
    t.equal((await request(sb.port, '/function/up', { body: 'a' })).body, 'v1 a');
    const v2 = rawTarGz([{ name: 'handler.js', body: "exports.handler = async (event) => 'v2 ' + event.data;\n" }, { name: 'lib/', type: '5' }, { name: 'lib/x.txt', body: 'x' }]);
    const ok = await put('/system/function/up/code', v2, 'application/gzip');
    t.equal(ok.status, 200, `a tar.gz replaces the code ${ok.body}`);
    t.equal(JSON.parse(ok.body).files, 2);
    t.equal((await request(sb.port, '/function/up', { body: 'b' })).body, 'v2 b', 'the next call runs it');
    const single = await put('/system/function/up/code?filename=handler.js', Buffer.from("exports.handler = async (event) => 'v3 ' + event.data;\n"), 'application/octet-stream');
    t.equal(single.status, 200, `one file ${single.body}`);
    t.equal((await request(sb.port, '/function/up', { body: 'c' })).body, 'v3 c');
    const evil: [string, Buffer, RegExp][] = [
      ['..', rawTarGz([{ name: 'handler.js', body: 'x' }, { name: '../../escape.js', body: 'x' }]), /a path with \.\./],
      ['absolute', rawTarGz([{ name: '/tmp/abs.js', body: 'x' }]), /absolute path/],
      ['symlink out', rawTarGz([{ name: 'handler.js', type: '2', linkname: '/etc/passwd' }]), /points out of the tree/],
      ['relative symlink out', rawTarGz([{ name: 'a/handler.js', type: '2', linkname: '../../../etc/passwd' }]), /points out of the tree/],
      ['hard link out', rawTarGz([{ name: 'h', type: '1', linkname: '../outside' }]), /\.\./],
      ['device', rawTarGz([{ name: 'dev', type: '3' }]), /type CharacterDevice/],
      ['not gzip', Buffer.from('plain text'), /valid tar\.gz/],
      ['a file under a link', rawTarGz([{ name: 'd/', type: '5' }, { name: 'l', type: '2', linkname: 'd' }, { name: 'l/handler.js', body: 'x' }]), /under the link "l"/],
      ['setuid and setgid', rawTarGz([{ name: 'handler.js', body: 'x', mode: 0o6777 }]), /setuid, setgid or sticky/],
      ['sticky directory', rawTarGz([{ name: 'd/', type: '5', mode: 0o1777 }, { name: 'handler.js', body: 'x' }]), /setuid, setgid or sticky/],
      ['too many entries', rawTarGz([{ name: 'handler.js', body: "exports.handler = async () => 'many';\n" }, ...Array.from({ length: MAX_ENTRIES }, (_, i) => ({ name: `f${i}`, body: '' }))]), new RegExp(`more than ${MAX_ENTRIES} entries`)],
    ];
    // faass-api runs with PrivateTmp=: what it might write to /tmp lands in its own /tmp, which
    // the host sees only through the process (/proc/PID/root), and only while it runs.
    const apiPid = async () => Number((await sb.systemctl('show', 'faass-api.service', '-p', 'MainPID', '--value')).stdout.trim());
    const pid = await apiPid();
    t.ok(pid > 0, 'the API serves the uploads');
    for (const [what, body, re] of evil) {
      const r = await put('/system/function/up/code', body, 'application/gzip');
      t.equal(r.status, 400, `${what}: 400`);
      t.equal(errorCode(r.body), 'FAASS_E_UPLOAD_INVALID');
      t.match(JSON.parse(r.body).error?.message ?? '', re, 'saying why');
    }
    t.equal((await put('/system/function/up/code?filename=../x.js', Buffer.from('x'), 'text/plain')).status, 400, 'a file name with a path: 400');
    t.equal((await request(sb.port, '/function/up', { body: 'd' })).body, 'v3 d', 'the refused uploads changed nothing');
    t.notOk(fs.existsSync(path.join(sb.env.XDG_DATA_HOME as string, 'faass', 'escape.js')), 'and wrote nothing outside the staging directory');
    t.equal(await apiPid(), pid, 'the same API process served them all (so its /tmp is the one they saw)');
    // Its own /tmp: private (PrivateTmp=), or the host's where faass itself lives under /tmp.
    t.notOk(fs.existsSync(`/proc/${pid}/root/tmp/abs.js`), "no /tmp/abs.js in the API's /tmp");
    const uploads = path.join(sb.env.XDG_DATA_HOME as string, 'faass', 'uploads');
    t.same(fs.readdirSync(uploads), [], 'no staging directory is left behind');
    // Declares 11 MiB and sends 1 KiB: the gateway answers from the declared length at once (a
    // client still pushing the whole body would race the early close with EPIPE).
    const huge = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: sb.port, method: 'PUT', path: '/system/function/up/code?filename=handler.js', agent: false, headers: { 'content-type': 'application/octet-stream', 'content-length': String(11 * 1024 * 1024), authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e)));
      req.write(Buffer.alloc(1024, 'x'));
    });
    t.equal(huge, 413, 'an upload over max_body: 413');
    t.equal((await put('/system/function/none/code?filename=a.js', Buffer.from('x'), 'text/plain')).status, 404, 'to a missing function: 404');
    const linked = rawTarGz([{ name: 'real.js', body: "exports.handler = async (event) => 'v4 ' + event.data;\n" }, { name: 'handler.js', type: '2', linkname: 'real.js' }]);
    const withLink = await put('/system/function/up/code', linked, 'application/gzip');
    t.equal(withLink.status, 200, `a link inside the tree is code like any other ${withLink.body}`);
    t.equal((await request(sb.port, '/function/up', { body: 'e' })).body, 'v4 e', 'and runs');
  });

  // The first line the server sends after the request head (an interim 100 or the final answer).
  const firstLine = (head: string) =>
    new Promise<string>((resolve, reject) => {
      const s = net.connect(sb.port, '127.0.0.1', () => s.write(head));
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (got.includes('\r\n')) s.destroy();
      });
      s.on('error', reject);
      s.on('close', () => resolve(got.split('\r\n')[0]));
    });

  t.test('Expect: 100-continue: no 100 for a body that will be refused', async (t) => {
    const head = (length: number, auth: string | null) => `PUT /system/function/up/code?filename=handler.js HTTP/1.1\r\nHost: faass\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n${auth ? `Authorization: Bearer ${auth}\r\n` : ''}\r\n`;
    t.match(await firstLine(head(11 * 1024 * 1024, token)), /^HTTP\/1\.1 413 /, 'over max_body: 413 first, before any 100 Continue');
    t.match(await firstLine(head(10, null)), /^HTTP\/1\.1 401 /, 'no credential: 401 first');
    t.match(await firstLine(head(10, token)), /^HTTP\/1\.1 100 /, 'within the limit and allowed: 100 Continue');
    const json = JSON.stringify({ name: 'cont', runtime: 'exec', command: 'cat' });
    const r = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: sb.port, method: 'POST', path: '/system/functions', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(json)), expect: '100-continue', authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('continue', () => req.end(json)); // the body goes only after the 100
      req.on('error', reject);
    });
    t.equal(r, 201, 'a client that waits for the 100 is answered in full');
    t.equal((await api('DELETE', '/system/function/cont')).status, 200);
  });

  t.test('half-done uploads of an API that died are removed when the next one starts', async (t) => {
    const uploads = path.join(sb.env.XDG_DATA_HOME as string, 'faass', 'uploads');
    const dead = spawnSync('true').pid as number; // exited: no process has this PID now
    const stale = path.join(uploads, `half-${dead}-up-abc123`);
    const live = path.join(uploads, `half-${process.pid}-up-def456`); // as if another API were mid-upload
    for (const d of [stale, live]) fs.mkdirSync(path.join(d, 'lib'), { recursive: true });
    fs.writeFileSync(path.join(stale, 'lib', 'handler.js'), 'x');
    t.teardown(() => fs.rmSync(live, { recursive: true, force: true }));
    t.equal((await sb.systemctl('stop', 'faass-api.service')).code, 0, 'the API stopped');
    t.equal((await api('GET', '/system/functions')).status, 200, 'the next request starts it again');
    await waitFor('the stale staging directory to go', () => !fs.existsSync(stale));
    t.ok(fs.existsSync(live), "one whose process lives is left alone");
  });

  t.test('code and settings in one request (X-Faass-Function); rebuild route', async (t) => {
    const put = async (p: string, body: Buffer, settings: string | null) => {
      const r = await request(sb.port, p, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token}`, ...(settings === null ? {} : { 'x-faass-function': settings }) } });
      replies.push(r);
      return r;
    };
    const script = Buffer.from('#!/bin/sh\necho "made $(cat) $WHO"\n');
    const made = await put('/system/function/made/code?filename=run.sh', script, JSON.stringify({ runtime: 'exec', command: './run.sh', env: { WHO: 'here' }, auth: 'ci' }));
    t.equal(made.status, 201, `a function created with its code ${made.body}`);
    t.equal((await request(sb.port, '/function/made', { body: 'x', headers: { authorization: `Bearer ${ci}` } })).body, 'made x here\n', 'runs at once, with its settings');
    const upd = await put('/system/function/made/code?filename=run.sh', script, JSON.stringify({ runtime: 'exec', command: './run.sh', env: { WHO: 'there' } }));
    t.equal(upd.status, 200, 'an update: 200');
    t.same(JSON.parse(upd.body).auth, ['ci'], 'an update that does not name who may call keeps it');
    const bad: [string, RegExp][] = [
      ['{not json', /not valid JSON/],
      [JSON.stringify({ runtime: 'exec', command: './run.sh', Extra: 1 }), /Unknown field "Extra"/],
      [JSON.stringify({ runtime: 'exec', command: './run.sh', timeout: 'soon' }), /timeout/],
    ];
    for (const [settings, re] of bad) {
      const r = await put('/system/function/made/code?filename=run.sh', Buffer.from('#!/bin/sh\necho broken\n'), settings);
      t.equal(r.status, 400, `bad settings ${settings.slice(0, 20)}: 400`);
      t.match(JSON.parse(r.body).error?.message ?? '', re);
    }
    t.equal((await request(sb.port, '/function/made', { body: 'y', headers: { authorization: `Bearer ${ci}` } })).body, 'made y there\n', 'refused settings changed nothing');
    const nobuild = await request(sb.port, '/system/function/made/build', { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    replies.push(nobuild);
    t.equal(nobuild.status, 400, 'rebuilding a function without a build context: 400');
    const get = await request(sb.port, '/system/function/made/build', { method: 'GET', headers: { authorization: `Bearer ${token}` } });
    replies.push(get);
    t.equal(get.status, 405, 'GET on the build route: 405');
    t.equal((await api('DELETE', '/system/function/made')).status, 200);
  });

  t.test('no secret in any API response; removing the last admin turns the API off', async (t) => {
    const secrets = [token, ci].map((x) => x.split('.')[1]);
    t.same(secrets.filter((s) => replies.some((r) => (JSON.stringify(r.headers) + r.body).includes(s))), [], `${replies.length} responses scanned`);
    t.equal((await sb.faassctl('credentials', 'remove', 'root')).code, 0);
    const after = await api('GET', '/system/functions');
    t.equal(after.status, 404, 'the API is off again');
    t.not((await sb.systemctl('is-active', 'faass-api.socket')).stdout.trim(), 'active', 'and its socket is stopped');
  });
});

// faassctl --gateway URL: the same verbs through the real gateway and faass-api's socket unit,
// a token saved by faassctl login, HTTPS with the gateway's own certificate; no secret printed.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startSandbox, setupGateway, writeFixture, request, Run, freePort } from '../support/sandbox';

t.test('faassctl remote mode', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 30);
  const gw = `http://127.0.0.1:${sb.port}`;
  const outputs: Run[] = [];
  const ctl = async (args: string[], input?: string, env: Record<string, string> = {}) => {
    const pairs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const r = await sb.run('env', [...pairs, process.execPath, sb.faassctlPath, ...args], input === undefined ? {} : { input });
    outputs.push(r);
    return r;
  };
  const remote = (...args: string[]) => ctl(['--gateway', gw, ...args]);

  const root = (await sb.faassctl('credentials', 'add', 'root', '--admin')).stdout.trim();
  const ci = (await sb.faassctl('credentials', 'add', 'ci')).stdout.trim();
  t.match(root, /^root\.\S{20,}$/, 'an admin token');
  const secrets = [root.split('.')[1], ci.split('.')[1]];

  const code = path.dirname(writeFixture(sb, 'hello/run.sh', '#!/bin/sh\necho "$(cat helper.txt) $(cat) $GREETING"\n', 0o755));
  writeFixture(sb, 'hello/helper.txt', 'hello');
  const single = writeFixture(sb, 'single.sh', '#!/bin/sh\necho "single $(cat)"\n', 0o755);

  t.test('without a token: 401, with a hint at login', async (t) => {
    const r = await remote('list');
    t.equal(r.code, 7, 'exit 7 (auth)');
    t.match(r.stderr, /FAASS_E_AUTH_REQUIRED/);
    t.match(r.stderr, /faassctl login/);
  });

  t.test('login checks the token and keeps it, mode 0600', async (t) => {
    const wrong = await ctl(['login', '--gateway', gw, '--token-stdin'], 'root.wrong\n');
    t.equal(wrong.code, 7, 'a wrong token is refused');
    t.match(wrong.stderr, /Not saved/);
    const file = path.join(sb.env.XDG_CONFIG_HOME!, 'faass', 'credentials');
    t.notOk(fs.existsSync(file), 'and nothing is written');
    const ok = await ctl(['login', '--gateway', gw + '/', '--token-stdin'], root + '\n');
    t.equal(ok.code, 0, `login ${ok.stderr}`);
    t.match(ok.stdout, /an admin token/);
    t.equal(fs.statSync(file).mode & 0o777, 0o600, 'the credentials file is 0600');
    t.match(fs.readFileSync(file, 'utf8'), new RegExp(`^${gw.replace(/\./g, '\\.')} root\\.`, 'm'), 'one line for the gateway, its trailing slash dropped');
    fs.chmodSync(file, 0o644);
    const loose = await remote('list');
    t.equal(loose.code, 2, 'a credentials file others may read is refused');
    t.match(loose.stderr, /chmod 600/);
    t.notMatch(loose.stderr, new RegExp(secrets[0]), 'without showing what is in it');
    fs.chmodSync(file, 0o600);
  });

  t.test('deploy (one file, a directory), invoke, list, describe', async (t) => {
    const one = await remote('deploy', 'one', '--runtime', 'exec', '--from-file', single);
    t.equal(one.code, 0, `deploy --from-file FILE ${one.stderr}`);
    t.match(one.stdout, new RegExp(`call it at ${gw}/function/one`));
    t.equal((await remote('invoke', 'one', '-d', 'x')).stdout, 'single x\n', 'the uploaded file runs');

    const dir = await remote('deploy', 'hello', '--from-file', code, '--command', './run.sh', '--env', 'GREETING=grüß dich');
    t.equal(dir.code, 0, `deploy --from-file DIR ${dir.stderr}`);
    t.equal((await remote('invoke', 'hello', '-d', 'world')).stdout, 'hello world grüß dich\n', 'the uploaded directory runs, with its other files and the env (non-ASCII)');
    t.equal((await request(sb.port, '/function/hello', { method: 'POST', body: 'plain' })).body, 'hello plain grüß dich\n', 'and any client gets the same');

    const l = await remote('list');
    t.equal(l.code, 0);
    t.equal(l.stdout, (await sb.faassctl('list')).stdout, 'list prints what it prints on the host');
    const d = await remote('describe', 'hello');
    t.equal(d.code, 0);
    const local = (await sb.faassctl('describe', 'hello')).stdout;
    const settingsOf = (text: string) => text.split('\n').filter((l) => !l.startsWith('#')).join('\n');
    t.equal(settingsOf(d.stdout), settingsOf(local), 'describe shows the settings as the file on the host has them');
    t.match(d.stdout, /^GREETING=grüß dich$/m);

    const settings = await remote('deploy', 'hello', '--command', './run.sh', '--env', 'GREETING=again', '--timeout', '5');
    t.equal(settings.code, 0, `a settings-only update ${settings.stderr}`);
    t.equal((await remote('invoke', 'hello', '-d', 'w')).stdout, 'hello w again\n', 'keeps the code, takes the settings');
    t.match((await sb.faassctl('describe', 'hello')).stdout, /^timeout=5$/m, 'written on the host');

    const env = await ctl(['invoke', 'hello', '-d', 'env'], undefined, { FAASS_GATEWAY: gw });
    t.equal(env.stdout, 'hello env again\n', 'FAASS_GATEWAY works as --gateway');
  });

  t.test('access is kept on an update that does not name it', async (t) => {
    t.equal((await remote('deploy', 'sec', '--from-file', code, '--command', './run.sh', '--auth', 'ci')).code, 0);
    const anon = await ctl(['invoke', 'sec', '-d', 'x']);
    t.equal(anon.code, 7, 'a protected function refuses a call without a token');
    t.equal((await ctl(['invoke', 'sec', '-d', 'x', '--token', ci])).stdout, 'hello x \n', 'and answers its credential');
    t.equal((await remote('deploy', 'sec', '--from-file', code, '--command', './run.sh')).code, 0, 'new code without --auth');
    t.equal((await ctl(['invoke', 'sec', '-d', 'x'])).code, 7, 'is still protected');
    t.equal((await ctl(['--gateway', gw, '--token', ci, 'list'])).code, 7, 'a non-admin token cannot use the API (403)');
  });

  t.test('bad input: clear error, exit code, nothing changed', async (t) => {
    const cases: [string, string[], number, RegExp][] = [
      ['bad name', ['deploy', 'Bad_Name', '--command', 'x'], 2, /FAASS_E_NAME_INVALID/],
      ['bad value', ['deploy', 'hello', '--command', './run.sh', '--timeout', '-1'], 2, /Invalid timeout/],
      ['missing code', ['deploy', 'x', '--runtime', 'exec', '--from-file', '/nonexistent/x'], 2, /Cannot read/],
      ['unknown function', ['describe', 'nope'], 3, /FAASS_E_FUNCTION_NOT_FOUND/],
      ['delete unknown', ['delete', 'nope'], 3, /FAASS_E_FUNCTION_NOT_FOUND/],
      ['local only', ['status'], 2, /gateway's host only/],
      ['local only', ['credentials', 'list'], 2, /gateway's host only/],
    ];
    for (const [what, args, exit, message] of cases) {
      const r = await remote(...args);
      t.equal(r.code, exit, `${what}: exit ${exit}`);
      t.match(r.stderr, message, what);
      t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line on stderr`);
    }
    fs.symlinkSync('/etc/passwd', path.join(code, 'escape'));
    const link = await remote('deploy', 'hello', '--from-file', code, '--command', './run.sh');
    fs.rmSync(path.join(code, 'escape'));
    t.equal(link.code, 2, 'a directory with a link out of it is refused');
    t.match(link.stderr, /FAASS_E_UPLOAD_INVALID/);
    t.equal((await remote('invoke', 'hello', '-d', 'w')).stdout, 'hello w again\n', 'and the function keeps its code and settings');
    const cred = await ctl(['--gateway', gw, '--token', 'root.x y', 'list']);
    t.equal(cred.code, 2, 'a token that cannot be a header value');
    for (const url of ['ftp://127.0.0.1', `http://root:${secrets[0]}@127.0.0.1:${sb.port}`, 'not a url']) {
      const r = await ctl(['--gateway', url, 'list']);
      t.equal(r.code, 2, `gateway URL ${url.replace(secrets[0], 'SECRET')} refused`);
    }
    const down = await ctl(['--gateway', `http://127.0.0.1:${await freePort()}`, 'list']);
    t.equal(down.code, 5, 'nothing listening: exit 5');
    t.match(down.stderr, /FAASS_E_GATEWAY_UNREACHABLE/);
  });

  t.test('HTTPS: the certificate is checked; --cacert trusts it', async (t) => {
    const tlsPort = await freePort();
    t.equal((await sb.faassctl('tls', 'self-signed')).code, 0);
    t.equal((await sb.faassctl('init', '--tls-listen', `127.0.0.1:${tlsPort}`)).code, 0);
    t.equal((await sb.faassctl('generate-units')).code, 0);
    const https = `https://127.0.0.1:${tlsPort}`;
    const cert = path.join(sb.env.XDG_CONFIG_HOME!, 'faass', 'tls', 'cert.pem');
    const untrusted = await ctl(['--gateway', https, '--token', root, 'list']);
    t.equal(untrusted.code, 5, 'an unknown certificate is refused');
    t.match(untrusted.stderr, /not trusted.*--cacert/);
    const login = await ctl(['login', '--gateway', https, '--cacert', cert, '--token-stdin'], root);
    t.equal(login.code, 0, `login over HTTPS ${login.stderr}`);
    const r = await ctl(['--gateway', https, 'invoke', 'one', '-d', 'tls'], undefined, { FAASS_CACERT: cert });
    t.equal(r.stdout, 'single tls\n', 'a call over HTTPS with the saved token and FAASS_CACERT');
  });

  t.test('delete: the function and its route go', async (t) => {
    const r = await remote('delete', 'one');
    t.equal(r.code, 0, `delete ${r.stderr}`);
    t.notMatch((await remote('list')).stdout, /^one\t/m);
    const gone = await remote('invoke', 'one');
    t.equal(gone.code, 3, 'a call to it is a 404 now');
    t.notOk(fs.existsSync(path.join(sb.env.XDG_CONFIG_HOME!, 'faass', 'functions', 'one.conf')), 'its file is gone on the host');
    const logout = await remote('logout');
    t.equal(logout.code, 0);
    t.equal((await remote('list')).code, 7, 'after logout the token is not sent');
  });

  t.test('no secret in any output', async (t) => {
    t.ok(outputs.length > 40, `${outputs.length} runs checked`);
    for (const s of secrets) t.notOk(outputs.some((o) => o.stdout.includes(s) || o.stderr.includes(s)), 'a secret is never printed');
  });
});

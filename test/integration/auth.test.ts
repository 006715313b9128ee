// Credentials and per-function access through the real gateway: the auth matrix, secrets never
// echoed, Authorization not forwarded unless asked, failed attempts rate-limited per address.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startSandbox, setupGateway, request, Reply, errorCode } from '../support/sandbox';
import { sandboxJournal } from '../support/journal';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

t.test('credentials and per-function access', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 60); // one gateway process for the whole test: the rate limit lives in it
  const replies: Reply[] = [];
  const call = async (fn: string, headers: Record<string, string> = {}, body = 'x') => {
    const r = await request(sb.port, `/function/${fn}`, { body, headers });
    replies.push(r);
    return r;
  };
  const add = async (name: string, ...flags: string[]) => {
    const r = await sb.faassctl('credentials', 'add', name, ...flags);
    t.equal(r.code, 0, `credentials add ${name} ${r.stderr}`);
    return r.stdout.trim();
  };

  const ci = await add('ci');
  const other = await add('other');
  const root = await add('root', '--admin');
  t.match(ci, /^ci\.[\w-]{43}$/, 'the token is printed on stdout');
  const secrets = [ci, other, root].map((tok) => tok.split('.')[1]);
  const store = path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'auth.conf');
  t.equal(fs.statSync(store).mode & 0o777, 0o600, 'the store is private');
  t.notOk(secrets.some((s) => fs.readFileSync(store, 'utf8').includes(s)), 'and holds no secret');
  const list = await sb.faassctl('credentials', 'list');
  t.match(list.stdout, /^ci\s+no\s+\d{4}-/m);
  t.match(list.stdout, /^root\s+yes\s+/m);
  t.notOk(secrets.some((s) => list.stdout.includes(s)), 'list shows no secret');
  t.equal((await sb.faassctl('credentials', 'add', 'ci')).code, 2, 'an existing name is not replaced');

  t.equal((await sb.faassctl('deploy', 'open', '--command', 'echo "[$Http_Authorization]"')).code, 0);
  t.equal((await sb.faassctl('deploy', 'closed', '--command', 'echo "[$Http_Authorization] ok"', '--auth', 'ci')).code, 0);
  t.equal((await sb.faassctl('deploy', 'passing', '--command', 'echo "[$Http_Authorization]"', '--auth', 'ci', '--pass-authorization')).code, 0);

  t.test('the matrix', async (t) => {
    t.equal((await call('open')).body, '[]\n', 'a public function needs nothing');
    t.equal((await call('open', { authorization: `Bearer ${ci}` })).body, '[]\n', 'and does not get the caller\'s Authorization header');
    const none = await call('closed');
    t.equal(none.status, 401, 'no credential: 401');
    t.equal(errorCode(none.body), 'FAASS_E_AUTH_REQUIRED');
    t.match(none.headers['www-authenticate'], /Bearer realm="faass", Basic realm="faass"/);
    const wrong = await call('closed', { authorization: `Bearer ci.${'A'.repeat(43)}` });
    t.equal(wrong.status, 401, 'a wrong secret: 401');
    t.equal((await call('closed', { authorization: 'Bearer nonsense' })).status, 401, 'a malformed header: 401');
    t.equal((await call('closed', { authorization: basic('ci', 'A'.repeat(43)) })).status, 401, 'wrong Basic: 401');
    const bearer = await call('closed', { authorization: `Bearer ${ci}` });
    t.equal(bearer.status, 200, 'the right Bearer token: 200');
    t.equal(bearer.body, '[] ok\n', 'and the function does not see it');
    t.equal((await call('closed', { authorization: basic('ci', secrets[0]) })).status, 200, 'Basic NAME:SECRET: 200');
    t.equal((await call('closed', { authorization: basic('ci', ci) })).status, 200, 'Basic NAME:TOKEN: 200');
    const forbidden = await call('closed', { authorization: `Bearer ${other}` });
    t.equal(forbidden.status, 403, 'a valid credential not named by the function: 403');
    t.equal(errorCode(forbidden.body), 'FAASS_E_FORBIDDEN');
    t.equal((await call('closed', { authorization: `Bearer ${root}` })).status, 200, 'an admin may call it');
    t.equal((await call('passing', { authorization: `Bearer ${ci}` })).body, `[Bearer ${ci}]\n`, 'pass_authorization: the function gets the header');
    const inv = await sb.faassctl('invoke', 'closed', '-d', 'x', '--token', ci);
    t.equal(inv.code, 0, `faassctl invoke --token ${inv.stderr}`);
    const noTok = await sb.faassctl('invoke', 'closed', '-d', 'x');
    t.equal(noTok.code, 7, 'faassctl invoke without a token exits 7');
    t.match(noTok.stderr, /401 FAASS_E_AUTH_REQUIRED/);
  });

  t.test('/metrics names protected functions to admins only (metrics_access)', async (t) => {
    const scrape = (headers: Record<string, string> = {}) => request(sb.port, '/metrics', { method: 'GET', headers });
    const names = (text: string) => [...new Set([...text.matchAll(/function_name="([^"]+)"/g)].map((m) => m[1]))].sort();
    const anon = await scrape();
    t.equal(anon.status, 200, 'anyone may scrape');
    t.same(names(anon.body), ['open'], 'but an anonymous scrape names only the public function');
    t.match(anon.body, /^faass_activations_total\{program="gateway"\} \d+$/m, 'and the faass-wide series');
    t.same(names((await scrape({ authorization: `Bearer ${root}` })).body), ['closed', 'open', 'passing'], 'an admin sees them all');
    t.same(names((await scrape({ authorization: `Bearer ${other}` })).body), ['open'], 'a credential no function names sees the public one');
    const wrong = await scrape({ authorization: `Bearer root.${'A'.repeat(43)}` });
    t.equal(wrong.status, 401, 'a wrong credential: 401');
    t.match(wrong.headers['www-authenticate'], /Bearer realm="faass"/);
    const init = await sb.faassctl('init', '--metrics-access', 'admin');
    t.equal(init.code, 0, `init --metrics-access admin ${init.stderr}`);
    t.match(fs.readFileSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'faass.conf'), 'utf8'), /^metrics_access=admin$/m);
    await sb.systemctl('stop', 'faass-gateway.service'); // the next connection starts one that reads it
    const refused = await scrape();
    t.equal(refused.status, 401, 'metrics_access=admin: an anonymous scrape is refused');
    t.equal(errorCode(refused.body), 'FAASS_E_AUTH_REQUIRED');
    t.equal((await scrape({ authorization: `Bearer ${ci}` })).status, 403, 'so is a credential that is not an admin');
    t.same(names((await scrape({ authorization: `Bearer ${root}` })).body), ['closed', 'open', 'passing'], 'an admin sees them all');
    t.equal((await sb.faassctl('init', '--metrics-access', 'public')).code, 2, 'an unknown value is refused');
    t.equal((await sb.faassctl('init', '--metrics-access', 'filtered')).code, 0);
    await sb.systemctl('stop', 'faass-gateway.service');
  });

  t.test('redeploy keeps access; removal revokes at once', async (t) => {
    t.equal((await sb.faassctl('deploy', 'closed', '--command', 'echo v2')).code, 0, 'redeploy without --auth');
    t.equal((await call('closed')).status, 401, 'is still protected');
    t.equal((await call('closed', { authorization: `Bearer ${ci}` })).body, 'v2\n');
    t.equal((await sb.faassctl('credentials', 'remove', 'ci')).code, 0);
    t.equal((await call('closed', { authorization: `Bearer ${ci}` })).status, 401, 'a removed credential stops working at once');
    t.equal((await sb.faassctl('credentials', 'remove', 'ci')).code, 3, 'removing it twice: not found');
    t.equal((await sb.faassctl('deploy', 'closed', '--command', 'echo v3', '--auth', '')).code, 0, "--auth '' makes it public");
    t.equal((await call('closed')).body, 'v3\n');
    t.equal((await sb.faassctl('deploy', 'bad', '--command', 'cat', '--auth', 'Not A Name')).code, 2, 'an invalid credential name is refused');
    // A file broken by hand: who may call it is unknown, so nobody gets through.
    const conf = path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'functions', 'closed.conf');
    const good = fs.readFileSync(conf, 'utf8');
    // In the function's own section: the file ends with its [version] (issue 15).
    const bad = good.replace(/\n\[version\]/, '\nauth = ci\ntimeout = soon\n\n[version]');
    t.not(bad, good, 'the keys went in before [version]');
    fs.writeFileSync(conf, bad);
    const broken = await call('closed', { authorization: `Bearer ${root}` });
    t.equal(broken.status, 503, 'an invalid function file: 503, for admins too');
    t.equal(errorCode(broken.body), 'FAASS_E_CONFIG_BROKEN');
    t.match(broken.body, /closed\.conf: Invalid timeout/, 'naming the file and what is wrong');
    fs.writeFileSync(conf, good);
  });

  t.test('failed attempts are rate-limited per address', async (t) => {
    t.equal((await sb.faassctl('deploy', 'guarded', '--command', 'echo in', '--auth', 'other')).code, 0);
    let limited: Reply | null = null;
    for (let i = 0; i < 15 && !limited; i++) {
      const r = await call('guarded', { authorization: `Bearer other.${'B'.repeat(43)}` });
      if (r.status === 429) limited = r;
    }
    t.ok(limited, 'wrong guesses end in 429');
    t.equal(errorCode(limited?.body ?? ''), 'FAASS_E_AUTH_RATE_LIMITED');
    t.ok(Number(limited?.headers['retry-after']) > 0, 'with Retry-After');
    t.equal((await call('guarded', { authorization: `Bearer ${other}` })).status, 429, 'even the right token waits');
    t.equal((await call('open')).status, 200, 'public functions are not affected');
  });

  t.test('no secret in any response or log line', async (t) => {
    const bodies = replies.map((r) => JSON.stringify(r.headers) + r.body);
    const leaked = secrets.filter((s) => bodies.some((b) => b.includes(s) && !b.includes(`[Bearer `)));
    t.same(leaked, [], `${replies.length} responses scanned (pass_authorization echoes excepted)`);
    // Everything this sandbox logged (its manager's, gateway's, API's and functions' lines).
    const j = await sandboxJournal(sb);
    t.ok(j.length > 0, 'the journal has lines');
    t.same(secrets.filter((s) => j.includes(s)), [], 'no secret in the journal');
    t.match(j, /Failed authentication for closed from 127\.0\.0\.1 as ci/, 'failures are logged, by name');
  });
});

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Authorizer, API_DOOR, Door, Caller, CredentialCheck, Refusal, Viewer, mayView } from '../../src/gateway/authorize';
import { Credential, FailureLimiter, Presented, Verifier, addCredential } from '../../src/auth/credentials';
import { resolvePaths } from '../../src/core/paths';
import { log } from '../../src/observe/log';
import { FaassError } from '../../src/core/errors';

// An in-memory credential store: NAME.SECRET tokens, no scrypt.
class Store implements CredentialCheck {
  readonly verified: Presented[] = [];
  constructor(private readonly creds: Record<string, { secret: string; admin: boolean }>) {}
  get hasAdmin(): boolean {
    return Object.values(this.creds).some((c) => c.admin);
  }
  async verify(p: Presented): Promise<Credential | null> {
    this.verified.push(p);
    const c = this.creds[p.name];
    return c && c.secret === p.secret ? { name: p.name, admin: c.admin, hash: '', created: '' } : null;
  }
}

const S = (c: string) => c.repeat(43); // a secret of the right shape
const store = () => new Store({ ci: { secret: S('a'), admin: false }, ops: { secret: S('b'), admin: false }, root: { secret: S('c'), admin: true } });
const bearer = (name: string, secret: string) => `Bearer ${name}.${secret}`;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const from = (authorization?: string, address = '192.0.2.1'): Caller => ({ address, authorization });
const BROKEN = new FaassError('FAASS_E_CONFIG_BROKEN', '/home/u/.config/faass/functions/report.conf: Invalid timeout "soon": expected a number');
const fn = (auth: string[], broken = false): Door => ({ kind: 'function', name: 'report', auth, broken: broken ? BROKEN : null });
// What the client gets: the code, the status the catalog gives it, the message and headers.
const seen = (r: Refusal | null) => r && { code: r.error.code, status: r.error.status, message: r.error.message, headers: r.headers };
// A /metrics refusal as seen; null when the scrape is let through.
const refused = (r: Refusal | Viewer) => ('error' in r ? seen(r) : null);
const CHALLENGE = { 'www-authenticate': 'Bearer realm="faass", Basic realm="faass", charset="UTF-8"' };

// Failed attempts are logged (log.warning); keep the test output clean.
const warning = log.warning;
log.warning = () => undefined;
t.teardown(() => void (log.warning = warning));

t.test('a public function: everyone, with or without a credential, and no store lookup', async (t) => {
  const s = store();
  const a = new Authorizer(s);
  t.equal(await a.check(from(), fn([])), null);
  t.equal(await a.check(from(bearer('ci', S('x'))), fn([])), null, 'even a wrong token: it is not looked at');
  t.same(s.verified, []);
});

t.test('a protected function: the named credentials and admins, by Bearer or Basic', async (t) => {
  const a = new Authorizer(store());
  const door = fn(['ci']);
  t.equal(await a.check(from(bearer('ci', S('a'))), door), null, 'Bearer NAME.SECRET');
  t.equal(await a.check(from(basic('ci', S('a'))), door), null, 'Basic NAME:SECRET');
  t.equal(await a.check(from(basic('ci', `ci.${S('a')}`)), door), null, 'Basic NAME:TOKEN');
  t.equal(await a.check(from(bearer('root', S('c'))), door), null, 'an admin, not named in auth=');
  t.equal(await a.check(from(basic('root', S('c'))), fn(['ops'])), null, 'an admin by Basic');
  t.equal(await a.check(from(bearer('ops', S('b'))), fn(['ci', 'ops'])), null, 'any of several names');
});

t.test('no credential or a wrong one: 401 with a challenge; a valid one not allowed: 403', async (t) => {
  const a = new Authorizer(store());
  const door = fn(['ci']);
  t.same(seen(await a.check(from(), door)), { code: 'FAASS_E_AUTH_REQUIRED', status: 401, message: 'Function report needs a credential: Authorization: Bearer NAME.SECRET', headers: CHALLENGE });
  const invalid = { code: 'FAASS_E_AUTH_REQUIRED', status: 401, message: 'The credential given is not valid', headers: CHALLENGE };
  t.same(seen(await a.check(from(bearer('ci', S('z'))), door)), invalid, 'wrong secret');
  t.same(seen(await a.check(from(bearer('nobody', S('a'))), door)), invalid, 'unknown name');
  t.same(seen(await a.check(from(basic('ci', S('z'))), door)), invalid, 'wrong Basic password');
  t.same(seen(await a.check(from('Bearer not-a-token'), door)), invalid, 'malformed');
  t.same(seen(await a.check(from(`Digest ci.${S('a')}`), door)), invalid, 'another scheme');
  t.same(seen(await a.check(from(bearer('ops', S('b'))), door)), { code: 'FAASS_E_FORBIDDEN', status: 403, message: 'Credential ops may not call report', headers: {} });
});

t.test('a console session is its admin\'s credential on every door; a bad one is refused with its reason, never passed', async (t) => {
  const s = store();
  const a = new Authorizer(s);
  const signedIn: Caller = { ...from(), session: { name: 'root' } };
  t.equal(await a.check(signedIn, fn(['ci'])), null, 'a protected function');
  t.equal(await a.check(signedIn, API_DOOR), null, 'the API');
  t.equal(await a.checkEvery(signedIn, 'news', [{ kind: 'function', name: 'report', auth: ['ci'], broken: null }]), null, 'a topic');
  t.same(s.verified, [], 'no token looked up');
  const noCsrf = new FaassError('FAASS_E_FORBIDDEN', 'A request with the console session needs its X-CSRF-Token header (GET /ui/session gives it)');
  t.same(seen(await a.check({ ...from(), session: { error: noCsrf } }, fn(['ci']))), { code: 'FAASS_E_FORBIDDEN', status: 403, message: noCsrf.message, headers: {} }, 'without its CSRF token: its reason, no challenge');
  const expired = new FaassError('FAASS_E_AUTH_REQUIRED', 'The console session is not valid (expired, signed out, or its credential removed): sign in again');
  t.same(seen(await a.check({ ...from(), session: { error: expired } }, fn(['ci']))), { code: 'FAASS_E_AUTH_REQUIRED', status: 401, message: expired.message, headers: {} }, 'expired: 401');
  t.equal(await a.check({ ...from(), session: { error: expired } }, fn([])), null, 'a public function: the cookie is not looked at');
  t.same(seen(await a.check({ ...from(bearer('ops', S('b'))), session: { name: 'root' } }, fn(['ci'])))?.code, 'FAASS_E_FORBIDDEN', 'an Authorization header counts, not the session');
});

t.test('an invalid function file: 503 with the file and the reason for everyone, admins too', async (t) => {
  const a = new Authorizer(store());
  const bad = { code: 'FAASS_E_CONFIG_BROKEN', status: 503, message: BROKEN.message, headers: {} };
  t.same(seen(await a.check(from(), fn([], true))), bad);
  t.same(seen(await a.check(from(bearer('root', S('c'))), fn([], true))), bad);
});

t.test('the API: admins only', async (t) => {
  const s = store();
  const a = new Authorizer(s);
  t.ok(a.apiEnabled);
  t.equal(await a.check(from(bearer('root', S('c'))), API_DOOR), null);
  t.same(seen(await a.check(from(bearer('ci', S('a'))), API_DOOR)), { code: 'FAASS_E_FORBIDDEN', status: 403, message: 'Credential ci is not an admin', headers: {} });
  t.same(seen(await a.check(from(), API_DOOR)), { code: 'FAASS_E_AUTH_REQUIRED', status: 401, message: 'The management API needs a credential: Authorization: Bearer NAME.SECRET', headers: CHALLENGE });
  t.same(seen(await a.check(from(bearer('root', S('z'))), API_DOOR))?.status, 401);
  t.notOk(new Authorizer(new Store({ ci: { secret: S('a'), admin: false } })).apiEnabled, 'off without an admin credential');
});

t.test('/metrics: who sees every series, by metrics_access', async (t) => {
  const s = store();
  const a = new Authorizer(s);
  const root = from(bearer('root', S('c')));
  const ci = from(bearer('ci', S('a')));
  const wrong = from(bearer('ci', S('z')));
  t.same(await a.viewer(from(), 'open'), { all: true }, 'open: anyone sees all');
  t.same(await a.viewer(wrong, 'open'), { all: true }, 'and a credential is not looked at');
  t.same(await a.viewer(from(), 'filtered'), { all: false, credential: null }, 'filtered, anonymous: public functions only');
  t.same(await a.viewer(root, 'filtered'), { all: true }, 'filtered, an admin: all');
  t.same(await a.viewer(ci, 'filtered'), { all: false, credential: 'ci' }, 'filtered, another credential: public ones and its own');
  t.same(refused(await a.viewer(wrong, 'filtered'))?.status, 401, 'filtered, a wrong credential: refused');
  t.same(refused(await a.viewer(from('Bearer nonsense'), 'filtered'))?.status, 401, 'filtered, a malformed header: refused');
  t.same(await a.viewer(root, 'admin'), { all: true }, 'admin, an admin: all');
  t.same(refused(await a.viewer(from(), 'admin')), { code: 'FAASS_E_AUTH_REQUIRED', status: 401, message: '/metrics needs a credential: Authorization: Bearer NAME.SECRET', headers: CHALLENGE });
  t.same(refused(await a.viewer(ci, 'admin')), { code: 'FAASS_E_FORBIDDEN', status: 403, message: 'Credential ci is not an admin', headers: {} });
  t.same(refused(await a.viewer(wrong, 'admin'))?.status, 401);
});

t.test('/metrics: wrong credentials count toward the limit; anonymous filtered scrapes are not limited', async (t) => {
  const a = new Authorizer(store());
  for (let i = 0; i < 10; i++) await a.viewer(from(bearer('root', S('z'))), 'filtered');
  t.equal((await a.check(from(bearer('ci', S('a'))), fn(['ci'])))?.error.status, 429, 'failed scrapes block calls from that address too');
  t.equal(refused(await a.viewer(from(bearer('root', S('c'))), 'filtered'))?.status, 429, 'and scrapes with a credential');
  t.same(await a.viewer(from(), 'filtered'), { all: false, credential: null }, 'an anonymous scrape still gets the public view');
});

t.test("mayView: a function's series are seen by who may call it; unknown or invalid: by admins only", async (t) => {
  t.ok(mayView({ auth: [], broken: null }, null), 'public');
  t.notOk(mayView({ auth: ['ci'], broken: null }, null), 'protected, anonymous');
  t.ok(mayView({ auth: ['ci', 'ops'], broken: null }, 'ops'), 'protected, named');
  t.notOk(mayView({ auth: ['ci'], broken: null }, 'ops'), 'protected, another credential');
  t.notOk(mayView({ auth: [], broken: new Error('bad file') }, null), 'a file that does not parse');
  t.notOk(mayView(null, null), 'no file (deleted, counters kept)');
});

t.test('after 10 failures from an address: 429 with Retry-After, even for a right token; other addresses go on', async (t) => {
  let now = 1_000_000;
  const clock = new FailureLimiter();
  // The limiter's clock, made ours: its methods take `now`.
  const limiter = { retryAfter: (k: string) => clock.retryAfter(k, now), failed: (k: string) => clock.failed(k, now) } as FailureLimiter;
  const a = new Authorizer(store(), limiter);
  const door = fn(['ci']);
  for (let i = 0; i < 10; i++) t.equal((await a.check(from(bearer('ci', S('z'))), door))?.error.status, 401, `failure ${i + 1}`);
  now += 1500;
  t.same(seen(await a.check(from(bearer('ci', S('a'))), door)), { code: 'FAASS_E_AUTH_RATE_LIMITED', status: 429, message: 'Too many failed authentication attempts from this address', headers: { 'retry-after': '59' } });
  t.equal((await a.check(from(undefined), API_DOOR))?.error.status, 429, 'the API shares the count');
  t.equal(await a.check(from(bearer('ci', S('a')), '192.0.2.2'), door), null, 'another address');
  t.equal(await a.check(from(undefined), fn([])), null, 'a public function is not limited');
  t.same(seen(await a.check(from(undefined), fn([], true)))?.status, 503, 'an invalid file says so first');
  now += 60_000;
  t.equal(await a.check(from(bearer('ci', S('a'))), door), null, 'the minute over, the right token passes');
});

t.test('403 and a missing credential are not failures: no rate limit from them', async (t) => {
  const a = new Authorizer(store());
  for (let i = 0; i < 12; i++) await a.check(from(bearer('ops', S('b'))), fn(['ci']));
  for (let i = 0; i < 12; i++) await a.check(from(), fn(['ci']));
  t.equal(await a.check(from(bearer('ci', S('a'))), fn(['ci'])), null);
});

t.test('with the real store (auth.conf, scrypt): Bearer and Basic tokens from faassctl credentials add', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-gw-auth-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const paths = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config') });
  const token = addCredential(paths, 'ci', false);
  const admin = addCredential(paths, 'root', true);
  const a = new Authorizer(new Verifier(paths));
  t.equal(await a.check(from(`Bearer ${token}`), fn(['ci'])), null);
  t.equal(await a.check(from(basic('ci', token)), fn(['ci'])), null);
  t.equal(await a.check(from(`Bearer ${admin}`), API_DOOR), null);
  t.equal((await a.check(from(`Bearer ${token}`), API_DOOR))?.error.status, 403);
  t.equal((await a.check(from(`Bearer ${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`), fn(['ci'])))?.error.status, 401);
});

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hashSecret, verifySecret, parseAuthorization, addCredential, removeCredential, loadCredentials, authConfPath, Verifier, FailureLimiter } from '../../src/auth/credentials';
import { resolvePaths } from '../../src/core/paths';

const tmpPaths = (t: { teardown(f: () => void): void }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-cred-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return resolvePaths({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config') });
};
const SECRET = 'A'.repeat(43);

t.test('scrypt hashes: salted, verified, wrong secrets refused', async (t) => {
  const h = hashSecret(SECRET);
  t.match(h, /^scrypt\$16384\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  t.not(hashSecret(SECRET), h, 'a fresh salt each time');
  t.ok(verifySecret(SECRET, h));
  t.notOk(verifySecret('B'.repeat(43), h));
  t.notOk(verifySecret(SECRET, 'plain'), 'a malformed stored hash never verifies');
  t.notOk(verifySecret(SECRET, 'scrypt$99999999$8$1$AA$AA'), 'absurd cost parameters are refused');
});

t.test('Authorization headers: Bearer NAME.SECRET, Basic NAME:SECRET or NAME:TOKEN', async (t) => {
  t.same(parseAuthorization(`Bearer ci.${SECRET}`), { name: 'ci', secret: SECRET });
  t.same(parseAuthorization(`bearer  ci.${SECRET}`), { name: 'ci', secret: SECRET }, 'scheme case and spacing');
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  t.same(parseAuthorization(basic(`ci:${SECRET}`)), { name: 'ci', secret: SECRET });
  t.same(parseAuthorization(basic(`ci:ci.${SECRET}`)), { name: 'ci', secret: SECRET }, 'the whole token as the password');
  t.equal(parseAuthorization(undefined), null);
  for (const bad of ['Bearer', `Bearer ${SECRET}`, `Bearer CI.${SECRET}`, 'Bearer ci.short', basic('ci'), basic(`../x:${SECRET}`), `Digest ci.${SECRET}`, `Bearer ci.${SECRET} extra`]) t.equal(parseAuthorization(bad), 'malformed', bad.slice(0, 30));
});

t.test('the store: add prints a token once, keeps only a hash, mode 0600; remove', async (t) => {
  const paths = tmpPaths(t);
  const token = addCredential(paths, 'ci', false);
  t.match(token, /^ci\.[\w-]{43}$/);
  const text = fs.readFileSync(authConfPath(paths), 'utf8');
  t.notOk(text.includes(token.split('.')[1]), 'the secret is not in the file');
  t.equal(fs.statSync(authConfPath(paths)).mode & 0o777, 0o600);
  addCredential(paths, 'root', true);
  t.same([...loadCredentials(paths).values()].map((c) => [c.name, c.admin]), [['ci', false], ['root', true]]);
  t.throws(() => addCredential(paths, 'ci', true), /exists/, 'no silent replacement');
  t.throws(() => addCredential(paths, 'Bad Name', false), { code: 'FAASS_E_NAME_INVALID' });
  removeCredential(paths, 'ci');
  t.same([...loadCredentials(paths).keys()], ['root']);
  t.throws(() => removeCredential(paths, 'ci'), { code: 'FAASS_E_CREDENTIAL_NOT_FOUND' });
  t.notOk(fs.existsSync(`${authConfPath(paths)}.lock`), 'no lock left behind');
});

t.test('the verifier: right, wrong, unknown, removed; admin presence', async (t) => {
  const paths = tmpPaths(t);
  const v = new Verifier(paths);
  t.notOk(v.hasAdmin, 'no credentials: no admin (the API is off)');
  const token = addCredential(paths, 'ci', false);
  const p = parseAuthorization(`Bearer ${token}`);
  if (!p || p === 'malformed') throw new Error('token does not parse');
  t.equal((await v.verify(p))?.name, 'ci');
  t.equal((await v.verify(p))?.name, 'ci', 'again (remembered)');
  t.equal(await v.verify({ name: 'ci', secret: 'B'.repeat(43) }), null, 'a wrong secret');
  t.equal(await v.verify({ name: 'nobody', secret: p.secret }), null, 'an unknown name');
  t.notOk(v.hasAdmin);
  addCredential(paths, 'root', true);
  t.ok(v.hasAdmin, 'the store is re-read when it changes');
  await new Promise((r) => setTimeout(r, 20));
  removeCredential(paths, 'ci');
  t.equal(await v.verify(p), null, 'a removed credential stops working at once, remembered or not');
});

t.test('failure limiter: 429 after the limit within the window, per address', async (t) => {
  const l = new FailureLimiter(3, 60000, 2);
  for (let i = 0; i < 3; i++) {
    t.equal(l.retryAfter('a', 1000), 0);
    l.failed('a', 1000);
  }
  t.equal(l.retryAfter('a', 1000), 60, 'blocked for the rest of the window');
  t.equal(l.retryAfter('a', 31000), 30);
  t.equal(l.retryAfter('b', 1000), 0, 'other addresses are not');
  t.equal(l.retryAfter('a', 61000), 0, 'a new window');
  l.failed('b', 1000);
  l.failed('c', 1000);
  t.equal(l.retryAfter('a', 1000), 0, 'memory is bounded: the oldest address is forgotten');
});

// Versions and rollback under load (issue 15): 50 callers all along, deploy v2, roll back to
// v1. No call fails, every answer's X-Faass-Version is the version whose code wrote its body,
// and once a switch has returned every answer carries the new number.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startSandbox, setupGateway, request, waitFor, writeFixture, TEST_USER } from '../support/sandbox';
import { callers } from '../support/load';

t.test('deploy v2 and roll back to v1 under load', async (t) => {
  // As an ordinary user, as load.test.ts: runners in their own PID namespace, stopped through ExecStop=.
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 1);
  // Each version's code says which it is in its body; the header is faass's.
  const v1 = writeFixture(sb, 'v1/handler.js', "module.exports = async () => 'code-v1';\n");
  const v2 = writeFixture(sb, 'v2/handler.js', "module.exports = async () => 'code-v2';\n");
  const first = await sb.faassctl('deploy', 'echo', '--runtime', 'node', '--from-file', v1, '--idle', '1', '--message', 'first');
  t.equal(first.code, 0, `deploy v1 ${first.stderr}`);
  t.match(first.stdout, /as version 1\b/, 'the deploy says its number');

  const load = callers(sb, 50, '/function/echo');
  const seen = load.seen;
  // Counted in answers, not seconds: a busy machine answers fewer per second.
  const answered = load.answered;
  await waitFor('100 answers of version 1', () => answered(0) >= 100, 60000).catch(() => undefined);

  const dep = await sb.faassctl('deploy', 'echo', '--runtime', 'node', '--from-file', v2, '--idle', '1', '--message', 'second');
  const deployedAt = Date.now();
  t.equal(dep.code, 0, `deploy v2 under load ${dep.stderr}`);
  t.match(dep.stdout, /as version 2\b/);
  await waitFor('100 answers after the deploy', () => answered(deployedAt) >= 100, 60000).catch(() => undefined);

  const rolling = Date.now(); // calls started from here on may be answered by either version
  const back = await sb.faassctl('rollback', 'echo', '--to', '1');
  const rolledAt = Date.now();
  t.equal(back.code, 0, `rollback to 1 under load ${back.stderr}`);
  t.match(back.stdout, /back to version 1 \(from 2\)/);
  await waitFor('100 answers after the rollback', () => answered(rolledAt) >= 100, 60000).catch(() => undefined);
  await load.stop();

  const bad = seen.filter((s) => s.error || s.status !== 200);
  t.equal(bad.length, 0, `0 failed of ${seen.length} calls ${JSON.stringify(bad.slice(0, 3))}`);
  const mixed = seen.filter((s) => s.status === 200 && s.body !== `code-v${s.version}`);
  t.equal(mixed.length, 0, `every answer's X-Faass-Version is its body's code version ${JSON.stringify(mixed.slice(0, 3))}`);
  const during = (from: number, to: number) => seen.filter((s) => s.started > from && s.started < to && s.status === 200);
  const afterDeploy = during(deployedAt, rolling);
  t.ok(afterDeploy.length >= 100, `calls between the deploy and the rollback (${afterDeploy.length})`);
  t.ok(afterDeploy.every((s) => s.version === '2'), 'every call made after the deploy returned, before the rollback began: version 2');
  const afterRollback = during(rolledAt, Infinity);
  t.ok(afterRollback.length >= 100, `calls after the rollback (${afterRollback.length})`);
  t.ok(afterRollback.every((s) => s.version === '1'), 'every call made after the rollback returned: version 1');
  t.ok(seen.some((s) => s.started < deployedAt && s.version === '1'), 'calls before the deploy: version 1');

  const list = await sb.faassctl('versions', 'echo', '--json');
  t.equal(list.code, 0, list.stderr);
  t.same((JSON.parse(list.stdout) as { number: number; current: boolean; message: string }[]).map((v) => [v.number, v.current, v.message]), [[1, true, 'first'], [2, false, 'second']], 'versions: 1 current again, no new number');
  const again = await sb.faassctl('rollback', 'echo', '--to', '1');
  t.equal(again.code, 2, 'a rollback to the current version: exit 2');
  t.match(again.stderr, /already the current one/);
  t.equal(again.stderr.trim().split('\n').length, 1, 'one line');
  const gone = await sb.faassctl('rollback', 'nosuch');
  t.equal(gone.code, 3, 'an unknown function: exit 3');
});

t.test("a runner started between a deploy's commit and its switch of the code link serves the code its number names", async (t) => {
  // The function's file (settings and [version]) is written before the code link switches; a
  // runner that served the link would answer the new number with the old code in that gap, and
  // after a kill -9 there until the deploy is recovered. The gap is made here by hand: the link
  // put back on v1's code while the file names version 2.
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 60);
  const v1 = writeFixture(sb, 'g1/handler.js', "module.exports = async () => 'code-v1';\n");
  const v2 = writeFixture(sb, 'g2/handler.js', "module.exports = async () => 'code-v2';\n");
  t.equal((await sb.faassctl('deploy', 'gap', '--runtime', 'node', '--from-file', v1, '--idle', '10min')).code, 0);
  const link = path.join(sb.env.XDG_DATA_HOME as string, 'faass', 'functions', 'gap');
  const v1Code = fs.readlinkSync(link);
  t.equal((await sb.faassctl('deploy', 'gap', '--runtime', 'node', '--from-file', v2, '--idle', '10min')).code, 0);
  t.equal((await sb.systemctl('stop', 'faass-fn-gap.service')).code, 0);
  const v2Code = fs.readlinkSync(link);
  fs.unlinkSync(link);
  fs.symlinkSync(v1Code, link);
  t.teardown(() => {
    fs.unlinkSync(link);
    fs.symlinkSync(v2Code, link);
  });
  const r = await request(sb.port, '/function/gap', { body: 'x' });
  t.equal(r.status, 200);
  t.same([r.headers['x-faass-version'], r.body], ['2', 'code-v2'], 'version 2 answers with version 2\'s code');
  // The unit reads every code directory of its own function, never the records of its versions
  // (their settings hold the env of older versions).
  const recs = path.join(sb.env.XDG_DATA_HOME as string, 'faass', 'versions', 'gap');
  t.ok(fs.existsSync(path.join(recs, '2.json')), 'the records are kept apart from the code');
  t.notOk(fs.existsSync(path.join(sb.env.XDG_DATA_HOME as string, 'faass', 'code', 'gap', '.versions')), 'none among the code directories');

  // Four deploys of one function at once: each that goes on gets a number of its own; the others
  // are refused with one line, never half-done.
  const codes = [1, 2, 3, 4].map((i) => writeFixture(sb, `race${i}/handler.js`, `module.exports = async () => 'race-${i}';\n`));
  const runs = await Promise.all(codes.map((c) => sb.faassctl('deploy', 'race', '--runtime', 'node', '--from-file', c, '--idle', '1')));
  const won = runs.filter((r) => r.code === 0);
  const refused = runs.filter((r) => r.code !== 0);
  t.ok(won.length >= 1, `at least one deploy went on (${won.length} of 4)`);
  for (const r of refused) {
    t.equal(r.code, 2, 'a deploy refused exits 2');
    t.match(r.stderr, /^faassctl: race is being deployed or rolled back by process \d+; try again when it ends \(FAASS_E_DEPLOY_BUSY\)\n$/, 'with one line naming the deploy under way');
  }
  const numbers = won.map((r) => /as version (\d+)\b/.exec(r.stdout)?.[1]);
  t.equal(new Set(numbers).size, won.length, `each deploy that went on has a number of its own (${numbers.join(', ')})`);
  const records = fs.readdirSync(path.join(sb.env.XDG_DATA_HOME as string, 'faass', 'versions', 'race')).filter((f) => f.endsWith('.json'));
  t.equal(records.length, won.length, 'and a record each');
  const last = await request(sb.port, '/function/race', { body: 'x' });
  t.equal(last.status, 200);
  const answered = codes.findIndex((_, i) => last.body === `race-${i + 1}`);
  t.ok(answered >= 0 && won.includes(runs[answered] as (typeof runs)[number]), `the function answers with the code of a deploy that went on (${last.body}, version ${String(last.headers['x-faass-version'])})`);
  t.same(fs.readdirSync(path.join(sb.env.XDG_STATE_HOME as string, 'faass', 'deploying')), [], 'no deploy is left pending');

  // Six functions deployed at once, from six processes: each renders every unit, and one that
  // read the functions before another's file was written removed that one's units under it.
  const names = ['para', 'parb', 'parc', 'pard', 'pare', 'parf'];
  const many = await Promise.all(names.map((n) => sb.faassctl('deploy', n, '--runtime', 'node', '--from-file', writeFixture(sb, `${n}/handler.js`, `module.exports = async () => '${n}';\n`), '--idle', '1')));
  for (const [i, r] of many.entries()) t.equal(r.code, 0, `deploy ${names[i]} at the same time as five others exits 0 ${r.stderr}`);
  for (const n of names) t.equal((await request(sb.port, `/function/${n}`, { body: 'x' })).body, n, `${n} answers`);

  // A value ini reads as a boolean (OpenFaaS's write_debug: "true"): the file still parses.
  t.equal((await sb.faassctl('deploy', 'flag', '--command', 'printenv DEBUG', '--env', 'DEBUG=true', '--idle', '1')).code, 0);
  t.equal((await request(sb.port, '/function/flag', { body: 'x' })).body, 'true\n', '--env DEBUG=true: the function sees true');
  const described = await sb.faassctl('describe', 'flag');
  t.equal(described.code, 0, `and its file parses ${described.stderr}`);
});

t.test('versions and rollback with --gateway: who is the admin credential', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 30);
  const root = (await sb.faassctl('credentials', 'add', 'root', '--admin')).stdout.trim();
  const remote = (...args: string[]) => sb.run('env', [process.execPath, sb.faassctlPath, '--gateway', `http://127.0.0.1:${sb.port}`, '--token', root, ...args]);
  const v1 = writeFixture(sb, 'r1/handler.js', "module.exports = async () => 'code-v1';\n");
  const v2 = writeFixture(sb, 'r2/handler.js', "module.exports = async () => 'code-v2';\n");
  const d1 = await remote('deploy', 'echo', '--runtime', 'node', '--from-file', v1, '--message', 'through the API');
  t.equal(d1.code, 0, d1.stderr);
  t.match(d1.stdout, /as version 1 on/);
  const d2 = await remote('deploy', 'echo', '--runtime', 'node', '--from-file', v2);
  t.match(d2.stdout, /as version 2 on/, d2.stderr);
  const list = await remote('versions', 'echo', '--json');
  t.same((JSON.parse(list.stdout) as { number: number; who: string; via: string; current: boolean }[]).map((v) => [v.number, v.who, v.via, v.current]), [[1, 'root', 'api', false], [2, 'root', 'api', true]], `who: the credential ${list.stderr}`);
  t.notOk(list.stdout.includes(root.split('.')[1]), 'no secret in the list');
  const table = await remote('versions', 'echo');
  t.match(table.stdout, /^\*\s+2\s.*root \(api\)/m, 'the table marks the current one');
  const back = await remote('rollback', 'echo');
  t.equal(back.code, 0, back.stderr);
  t.match(back.stdout, /back to version 1 \(from 2\)/);
  const r = await request(sb.port, '/function/echo', { body: 'x' });
  t.same([r.status, r.headers['x-faass-version'], r.body], [200, '1', 'code-v1'], 'the call after the rollback: version 1');
  const again = await remote('rollback', 'echo', '--to', '1');
  t.equal(again.code, 2, 'already current: exit 2');
  t.match(again.stderr, /FAASS_E_VERSION_CURRENT/);
  const gone = await remote('rollback', 'echo', '--to', '5');
  t.equal(gone.code, 3, 'unknown: exit 3');
});

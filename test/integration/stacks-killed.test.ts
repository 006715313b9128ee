// A `faassctl up` killed with SIGKILL at a bad moment (issue 15, stacks) is finished or undone as
// a whole by the next command (docs/DESIGN.md "Stacks"): killed while its functions are being
// prepared, none of them changes; killed past the stack's commit point (units half applied, or a
// removed function half retired), all of them are finished. The up is stopped at a chosen step by
// a stand-in for systemctl on its PATH (the test's, not faass's), as in deploy-killed.test.ts; the
// stand-in itself SIGKILLs the faassctl that called it, so no clock decides where it stops.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startSandbox, setupGateway, request, unitState, writeFixture, Sandbox } from '../support/sandbox';

// A stand-in for systemctl: at the call whose arguments hold `step` it writes `mark` and kills its
// caller (faassctl: systemctl is run without a shell); every other call goes on to systemctl.
function killerAt(sb: Sandbox, step: string, mark: string): string {
  const bin = path.join(sb.dir, `killer-${path.basename(mark)}`);
  const real = execFileSync('sh', ['-c', 'command -v systemctl'], { encoding: 'utf8' }).trim();
  fs.mkdirSync(bin, { recursive: true, mode: 0o755 });
  const script = ['#!/bin/sh', `case " $* " in *" ${step} "*) echo "$PPID" > "${mark}"; kill -9 "$PPID"; exit 1 ;; esac`, `exec ${real} "$@"`, ''];
  fs.writeFileSync(path.join(bin, 'systemctl'), script.join('\n'), { mode: 0o755 });
  return bin;
}

// Functions answering `NAME-word`, as OpenFaaS's node18 template would; dep: that one's
// package.json names a dependency (its install begins with asking the manager for its PATH).
function writeStack(sb: Sandbox, stack: string, names: string[], word: string, dep?: string): string {
  for (const n of names) {
    const dir = path.join(sb.dir, 'fixtures', stack, n);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'handler.js'), `module.exports = async (event, context) => context.succeed('${n}-${word}');\n`);
    if (n === dep) {
      const deps = { 'faass-nowhere': '1.0.0' };
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'fn', version: '1.0.0', dependencies: deps }));
      const lock = { name: 'fn', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'fn', version: '1.0.0', dependencies: deps }, 'node_modules/faass-nowhere': { version: '1.0.0', resolved: 'http://127.0.0.1:1/faass-nowhere/-/faass-nowhere-1.0.0.tgz', integrity: 'sha512-AAAA' } } };
      fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(lock));
    }
  }
  return writeFixture(sb, `${stack}/stack.yml`, `provider:\n  name: openfaas\nfunctions:\n${names.map((n) => `  ${n}:\n    lang: node18\n    handler: ./${n}\n`).join('')}`);
}

t.test('a killed up is finished or undone as a whole by the next command', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 1);
  const state = path.join(sb.env.XDG_STATE_HOME as string, 'faass');
  const leftOver = () => [...fs.readdirSync(path.join(state, 'deploying')), ...(fs.existsSync(path.join(state, 'stacks-deploying')) ? fs.readdirSync(path.join(state, 'stacks-deploying')) : [])];
  const answers = (names: string[]) => Promise.all(names.map(async (n) => {
    const r = await request(sb.port, `/function/${n}`, { body: '' });
    return `${r.body}@${r.headers['x-faass-version']}`;
  }));
  // faassctl ARGS (an up or a down) run until the stand-in kills it at step.
  const killedAt = async (t: Test, step: string, ...args: string[]) => {
    const mark = path.join(sb.dir, `killed-${step.replace(/\W+/g, '-')}`);
    const bin = killerAt(sb, step, mark);
    const r = await sb.run('env', [`PATH=${bin}:${process.env.PATH}`, process.execPath, sb.faassctlPath, ...args]);
    t.ok(fs.existsSync(mark), `${args[0]} reached ${step}`);
    t.not(r.code, 0, `and was killed there ${r.stdout}`);
  };

  const five = ['a', 'b', 'c', 'd', 'e'];
  let file = writeStack(sb, 'five', five, 'v1');
  const first = await sb.faassctl('up', '-f', file);
  t.equal(first.code, 0, `up five ${first.stderr}`);
  t.same(await answers(five), five.map((n) => `${n}-v1@1`));

  await t.test('killed while preparing: a, b, c prepared, d installing its dependencies', async (t) => {
    await killedAt(t, 'show-environment', 'up', '-f', writeStack(sb, 'five', five, 'v2', 'd'));
    t.same(await answers(five), five.map((n) => `${n}-v1@1`), 'meanwhile all five answer their previous version');
    file = writeStack(sb, 'five', five, 'v2');
    const next = await sb.faassctl('up', '-f', file);
    t.equal(next.code, 0, `the next up ${next.stderr}`);
    t.match(next.stdout, /^Undid the interrupted deploy of a, b, c, d$/m, 'says it undid the killed one');
    t.match(next.stdout, /^Stack five is version 2/m);
    t.same(await answers(five), five.map((n) => `${n}-v2@2`), 'all five on the new up, numbered as if the killed one never was');
    t.same(leftOver(), [], 'no intent left');
  });

  await t.test('killed past the commit point, with a new stack half enabled', async (t) => {
    const three = ['p', 'q', 'r'];
    const fresh = writeStack(sb, 'fresh', three, 'v1');
    await killedAt(t, 'enable --no-reload --now faass-fn-q.socket', 'up', '-f', fresh);
    t.not(await unitState(sb, 'faass-fn-q.socket'), 'active/listening', "q's socket does not listen");
    const next = await sb.faassctl('up', '-f', fresh);
    t.equal(next.code, 0, `the next up ${next.stderr}`);
    t.match(next.stdout, /^Finished the interrupted deploy of p, q, r$/m, 'says it finished the killed one');
    t.match(next.stdout, /^Stack fresh unchanged, still version 1$/m, 'which had recorded the stack version');
    for (const n of three) t.equal(await unitState(sb, `faass-fn-${n}.socket`), 'active/listening', `${n}'s socket listens`);
    t.same(await answers(three), three.map((n) => `${n}-v1@1`), 'all three answer');
    t.same(leftOver(), [], 'no intent left');
  });

  await t.test('killed past the commit point, retiring a function the file no longer has', async (t) => {
    const four = ['a', 'b', 'c', 'd'];
    file = writeStack(sb, 'five', four, 'v3');
    await killedAt(t, 'disable --now faass-fn-e.socket', 'up', '-f', file);
    const next = await sb.faassctl('up', '-f', file);
    t.equal(next.code, 0, `the next up ${next.stderr}`);
    t.match(next.stdout, /^Finished the interrupted up of stack five$/m, 'says it finished the killed up');
    t.match(next.stdout, /^Finished the interrupted deploy of a, b, c, d$/m);
    t.match(next.stdout, /^Stack five unchanged, still version 3$/m, 'the killed up recorded version 3');
    t.same(await answers(four), four.map((n) => `${n}-v3@3`), 'a, b, c, d on the killed up');
    t.equal((await request(sb.port, '/function/e', { body: '' })).status, 404, 'e is gone');
    const versions = await sb.faassctl('stack', 'versions', 'five');
    t.match(versions.stdout, /^\* 3 .* a@3 b@3 c@3 d@3$/m, 'stack version 3 holds the four');
    t.same(leftOver(), [], 'no intent left');
  });

  // A command that changes one function finishes the stack's change first: else the stack's
  // recovery, run later in that command, would undo what it did.
  await t.test('killed past the commit point, then one of its functions deleted by hand', async (t) => {
    const fresh = writeStack(sb, 'fresh', ['p', 'q'], 'v2');
    await killedAt(t, 'disable --now faass-fn-r.socket', 'up', '-f', fresh);
    const del = await sb.faassctl('delete', 'p');
    t.equal(del.code, 0, `delete p ${del.stderr}`);
    t.match(del.stdout, /^Finished the interrupted up of stack fresh$/m, 'says it finished the killed up');
    t.equal((await request(sb.port, '/function/p', { body: '' })).status, 404, 'p is gone');
    t.notOk(fs.existsSync(path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'functions', 'p.conf')), 'and its file with it');
    t.same(await answers(['q']), ['q-v2@2'], 'q on the killed up');
    t.equal((await request(sb.port, '/function/r', { body: '' })).status, 404, 'r, which the file no longer has, is gone');
    t.same(leftOver(), [], 'no intent left');
  });

  await t.test('a killed down, then one of its functions deployed by hand', async (t) => {
    await killedAt(t, 'disable --now faass-fn-q.socket', 'down', '-f', path.join(sb.dir, 'fixtures', 'fresh', 'stack.yml'));
    const deploy = await sb.faassctl('deploy', 'q', '--command', 'cat');
    t.equal(deploy.code, 0, `deploy q ${deploy.stderr}`);
    t.match(deploy.stdout, /^Finished the interrupted down of stack fresh$/m, 'says it finished the killed down');
    t.equal((await request(sb.port, '/function/q', { body: 'kept' })).body, 'kept', 'q deployed by hand answers: the down did not take it after');
    const versions = await sb.faassctl('stack', 'versions', 'fresh');
    t.equal(versions.code, 3, `the stack is gone, as after a down ${versions.stdout}`);
    t.match(versions.stderr, /No stack named fresh/);
    t.same(leftOver(), [], 'no intent left');
  });
});

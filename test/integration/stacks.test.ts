// faassctl up/down (issue 15, stacks) against a real user manager: OpenFaaS-style stack files
// (node18 and python3-http handlers with environment and limits) deploy unchanged and answer;
// a five-function stack where one function's handler is missing, or its npm dependency cannot be
// installed, changes none of the five; the fixed file deploys them in one step, the stack rolls
// back in one step, and down removes them.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { startSandbox, setupGateway, request, writeFixture, errorCode } from '../support/sandbox';
import { rawTarGz } from '../support/raw-tar';

const NOWHERE = 'http://127.0.0.1:1'; // loopback, port 1: refused at once

// package.json and an npm 7+ lockfile naming one package no cache holds (dependencies.test.ts).
function writeUninstallable(dir: string): void {
  const dep = { 'faass-nowhere': '1.0.0' };
  const integrity = `sha512-${createHash('sha512').update('not in any cache').digest('base64')}`;
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'fn', version: '1.0.0', dependencies: dep }));
  const lock = { name: 'fn', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'fn', version: '1.0.0', dependencies: dep }, 'node_modules/faass-nowhere': { version: '1.0.0', resolved: `${NOWHERE}/faass-nowhere/-/faass-nowhere-1.0.0.tgz`, integrity } } };
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
}

t.test('OpenFaaS stack files deploy unchanged; a stack is all or nothing', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 1);

  // The node18 template's handler and the python3-http one, as faas-cli new writes them.
  writeFixture(sb, 'node/greet/handler.js', "'use strict'\nmodule.exports = async (event, context) => context.status(200).headers({ 'X-Lang': 'node18' }).succeed({ greeting: process.env.GREETING, name: event.body.name });\n");
  writeFixture(sb, 'node/greet/package.json', '{"name":"function","version":"1.0.0","main":"handler.js"}\n');
  const nodeStack = writeFixture(sb, 'node/stack.yml', 'version: 1.0\nprovider:\n  name: openfaas\n  gateway: http://127.0.0.1:8080\nfunctions:\n  greet:\n    lang: node18\n    handler: ./greet\n    image: me/greet:latest\n    environment:\n      GREETING: ${GREETING:-hello}\n    labels:\n      com.openfaas.scale.min: "1"\n    limits:\n      memory: 128Mi\n      cpu: 500m\n');
  writeFixture(sb, 'py/shout/handler.py', 'import os\n\ndef handle(event, context):\n    return {"statusCode": 200, "body": os.environ["PREFIX"] + event.body.decode().upper()}\n');
  writeFixture(sb, 'py/shout/requirements.txt', '');
  const pyStack = writeFixture(sb, 'py/stack.yml', 'version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  shout:\n    lang: python3-http\n    handler: ./shout\n    image: me/shout:latest\n    environment:\n      PREFIX: ">> "\n    limits:\n      memory: 64Mi\n');

  const upNode = await sb.faassctl('up', '-f', nodeStack);
  t.equal(upNode.code, 0, `up the node stack ${upNode.stderr}`);
  t.match(upNode.stderr, /stack\.yml:12:5: functions\.greet\.labels: ignored/, 'what faass ignores is said, where it is');
  const greet = await request(sb.port, '/function/greet', { body: '{"name":"ada"}', headers: { 'content-type': 'application/json' } });
  t.equal(greet.status, 200, greet.body);
  t.same(JSON.parse(greet.body), { greeting: 'hello', name: 'ada' }, 'the node18 handler, its environment');
  t.equal(greet.headers['x-lang'], 'node18');
  t.match((await sb.systemctl('show', '-p', 'MemoryMax', 'faass-fn-greet.service')).stdout, `MemoryMax=${128 * 1024 * 1024}`, 'limits.memory is the unit MemoryMax=');

  const upPy = await sb.faassctl('up', '-f', pyStack);
  t.equal(upPy.code, 0, `up the python stack ${upPy.stderr}`);
  const shout = await request(sb.port, '/function/shout', { body: 'quiet' });
  t.equal(shout.status, 200, shout.body);
  t.equal(shout.body, '>> QUIET', 'the python3-http handler, its environment');

  // Five functions, each answering its version's word.
  const five = ['a', 'b', 'c', 'd', 'e'];
  // broken.missing: that one's handler.js is misnamed; broken.dep: that one's lockfile names a
  // package neither npm's cache nor its registry (127.0.0.1:1, where nothing listens) has.
  const writeFive = (word: string, broken: { missing?: string; dep?: string } = {}) => {
    for (const n of five) {
      const dir = path.join(sb.dir, 'fixtures', 'five', n);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      if (n !== broken.missing) fs.writeFileSync(path.join(dir, 'handler.js'), `module.exports = async (event, context) => context.succeed('${n}-${word}');\n`);
      else fs.writeFileSync(path.join(dir, 'handle.js'), '// misnamed: not handler.js\n');
      if (n === broken.dep) writeUninstallable(dir);
    }
    return writeFixture(sb, 'five/stack.yml', `provider:\n  name: openfaas\nfunctions:\n${five.map((n) => `  ${n}:\n    lang: node18\n    handler: ./${n}\n`).join('')}`);
  };
  const answers = async () => Promise.all(five.map(async (n) => `${(await request(sb.port, `/function/${n}`, { body: '' })).body}@${(await request(sb.port, `/function/${n}`, { body: '' })).headers['x-faass-version']}`));
  const file = writeFive('v1');
  const first = await sb.faassctl('up', '-f', file);
  t.equal(first.code, 0, `up five ${first.stderr}`);
  t.same(await answers(), five.map((n) => `${n}-v1@1`));

  writeFive('v2', { missing: 'e' });
  const broken = await sb.faassctl('up', '-f', file);
  t.equal(broken.code, 2, `one handler missing: up fails ${broken.stdout}`);
  t.match(broken.stderr, /handler\.js is not in the function's code/);
  t.same(await answers(), five.map((n) => `${n}-v1@1`), 'all five still answer their previous version');
  const kept = await sb.faassctl('stack', 'versions', 'five');
  t.match(kept.stdout, /^\* 1 .*a@1 b@1 c@1 d@1 e@1/m, 'no stack version recorded');
  const deploying = path.join(sb.env.XDG_STATE_HOME as string, 'faass', 'deploying');
  t.notOk(fs.readdirSync(deploying).length, 'no deploy left half-done');

  // The build failure a node user meets: npm ci cannot install d's dependency. Its one line, and
  // a, b, c (prepared before d) are undone with it.
  fs.writeFileSync(path.join(sb.env.HOME as string, '.npmrc'), `registry=${NOWHERE}/\nfetch-retries=0\n`);
  writeFive('v2', { dep: 'd' });
  const noDep = await sb.faassctl('up', '-f', file);
  t.equal(noDep.code, 6, `an install that fails: up fails (FAASS_E_REGISTRY_UNREACHABLE) ${noDep.stdout}`);
  t.equal(noDep.stderr.trim().split('\n').length, 1, `the install's one line: ${noDep.stderr}`);
  t.match(noDep.stderr, /npm cannot reach the registry for faass-nowhere-1\.0\.0 .*nothing deployed/);
  t.same(await answers(), five.map((n) => `${n}-v1@1`), 'all five still answer their previous version');
  t.match((await sb.faassctl('stack', 'versions', 'five')).stdout, /^\* 1 .*a@1 b@1 c@1 d@1 e@1\n$/, 'no stack version recorded');
  t.notOk(fs.readdirSync(deploying).length, 'no deploy left half-done');
  const listed = await sb.faassctl('versions', 'a', '--json');
  t.same((JSON.parse(listed.stdout) as { number: number }[]).map((v) => v.number), [1], 'a, prepared before d failed, recorded no version');

  const dry = await sb.faassctl('up', '-f', writeFive('v2'), '--dry-run');
  t.equal(dry.code, 0, dry.stderr);
  t.match(dry.stdout, /^update +a\n +code: changed$/m, 'the plan');
  t.same(await answers(), five.map((n) => `${n}-v1@1`), 'a dry run changes nothing');

  const fixed = await sb.faassctl('up', '-f', file);
  t.equal(fixed.code, 0, `the fixed stack ${fixed.stderr}`);
  t.match(fixed.stdout, /Stack five is version 2/);
  t.same(await answers(), five.map((n) => `${n}-v2@2`), 'all five on their new version in one up');

  const back = await sb.faassctl('stack', 'rollback', 'five');
  t.equal(back.code, 0, `stack rollback ${back.stderr}`);
  t.same(await answers(), five.map((n) => `${n}-v1@1`), 'one rollback: all five back');

  // Through the management API, with an admin's credential only.
  const root = (await sb.faassctl('credentials', 'add', 'root', '--admin')).stdout.trim();
  const ci = (await sb.faassctl('credentials', 'add', 'ci')).stdout.trim();
  const gw = ['--gateway', `http://127.0.0.1:${sb.port}`];
  const notAdmin = await sb.faassctl(...gw, '--token', ci, 'stack', 'rollback', 'five', '--to', '2');
  t.not(notAdmin.code, 0, `a credential that is not an admin's is refused ${notAdmin.stderr}`);
  t.same(await answers(), five.map((n) => `${n}-v1@1`), 'and changes nothing');
  const remoteList = await sb.faassctl(...gw, '--token', root, 'stack', 'versions', 'five');
  t.equal(remoteList.code, 0, remoteList.stderr);
  t.match(remoteList.stdout, /^\* 1 .*a@1 b@1 c@1 d@1 e@1\n {2}2 .*a@2 b@2 c@2 d@2 e@2\n$/, "the stack's versions through the API");
  const remoteBack = await sb.faassctl(...gw, '--token', root, 'stack', 'rollback', 'five', '--to', '2');
  t.equal(remoteBack.code, 0, `stack rollback --gateway ${remoteBack.stderr}`);
  t.match(remoteBack.stdout, /Rolled stack five back to version 2 \(from 1\) on /);
  t.same(await answers(), five.map((n) => `${n}-v2@2`), 'one rollback through the API: all five on version 2');

  // up --gateway: a node18 and a python3-http function in one upload. hi carries 1.5 MiB that
  // does not compress: more than a JSON request may be, within the gateway's max_body.
  const writeDuo = (word: string) => {
    writeFixture(sb, 'duo/hi/handler.js', `'use strict'\nmodule.exports = async (event, context) => context.status(200).succeed(process.env.GREETING + ' ${word}');\n`);
    writeFixture(sb, 'duo/echo/handler.py', 'def handle(event, context):\n    return {"statusCode": 200, "body": "echo " + event.body.decode()}\n');
    return writeFixture(sb, 'duo/stack.yml', 'version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  hi:\n    lang: node18\n    handler: ./hi\n    environment:\n      GREETING: ${GREETING:-hello}\n    labels:\n      team: a\n  echo:\n    lang: python3-http\n    handler: ./echo\n');
  };
  const duo = writeDuo('v1');
  fs.writeFileSync(path.join(sb.dir, 'fixtures', 'duo', 'hi', 'blob.bin'), randomBytes(1536 * 1024));
  const duoAnswers = async () =>
    Promise.all(
      ['hi', 'echo'].map(async (n) => {
        const r = await request(sb.port, `/function/${n}`, { body: 'x' });
        return `${r.status} ${r.status === 200 ? r.body : errorCode(r.body)}@${r.headers['x-faass-version'] ?? '-'}`;
      }),
    );
  const uploads = path.join(sb.env.XDG_DATA_HOME as string, 'faass', 'uploads');
  const nothingYet = ['404 FAASS_E_FUNCTION_NOT_FOUND@-', '404 FAASS_E_FUNCTION_NOT_FOUND@-'];
  t.same(await duoAnswers(), nothingYet, 'the duo stack is not deployed yet');

  const refusedUp = await sb.faassctl(...gw, '--token', ci, 'up', '-f', duo);
  t.equal(refusedUp.code, 7, `up --gateway with a credential that is not an admin's: refused (403) ${refusedUp.stderr}`);
  t.same(await duoAnswers(), nothingYet, 'and nothing deployed');

  const remoteUp = await sb.faassctl(...gw, '--token', root, 'up', '-f', duo);
  t.equal(remoteUp.code, 0, `up --gateway ${remoteUp.stderr}`);
  t.match(remoteUp.stderr, /stack\.yml:10:5: functions\.hi\.labels: ignored/, 'ignored keys are said by the client, where they are');
  t.match(remoteUp.stdout, /^create +hi$/m, 'the plan the server computed');
  t.match(remoteUp.stdout, /^create +echo$/m);
  t.match(remoteUp.stdout, /^Stack duo is version 1 on /m);
  t.same(await duoAnswers(), ['200 hello v1@1', '200 echo x@1'], 'both functions answer, from one upload');

  writeDuo('v2');
  const remoteDry = await sb.faassctl(...gw, '--token', root, 'up', '-f', duo, '--dry-run');
  t.equal(remoteDry.code, 0, `up --dry-run --gateway ${remoteDry.stderr}`);
  t.match(remoteDry.stdout, /^update +hi\n +code: changed$/m, "the server's plan: hi's code changed");
  t.match(remoteDry.stdout, /^unchanged +echo$/m, 'echo unchanged (the uploaded tree digests as the deployed one)');
  t.match(remoteDry.stdout, /^Dry run: nothing changed \(stack duo, version 1 on /m);
  t.same(await duoAnswers(), ['200 hello v1@1', '200 echo x@1'], 'a dry run through the API changes nothing');

  const reUp = await sb.faassctl(...gw, '--token', root, 'up', '-f', duo, '--message', 'hi v2');
  t.equal(reUp.code, 0, `a second up --gateway ${reUp.stderr}`);
  t.match(reUp.stdout, /^update +hi$/m);
  t.match(reUp.stdout, /^unchanged +echo$/m);
  t.match(reUp.stdout, /^Stack duo is version 2 on /m);
  t.same(await duoAnswers(), ['200 hello v2@2', '200 echo x@1'], 'hi on its new version, echo untouched');
  t.match((await sb.faassctl('stack', 'versions', 'duo')).stdout, /^\* 2 .* root .*(hi@2 echo@1|echo@1 hi@2) +hi v2$/m, 'the stack version records the credential and the message');

  const filtered = await sb.faassctl(...gw, '--token', root, 'up', '-f', duo, '--filter', 'echo');
  t.equal(filtered.code, 0, `up --gateway --filter ${filtered.stderr}`);
  t.match(filtered.stdout, /^unchanged +echo\nStack duo unchanged, still version 2 on /m, 'only the filtered function planned');

  // Bad uploads, straight to the route with the admin's credential: each a 4xx, nothing changed.
  const upload = (body: Buffer, type = 'application/gzip') => request(sb.port, '/system/stack/duo/up', { body, headers: { 'content-type': type, authorization: `Bearer ${root}` } });
  const notTar = await upload(Buffer.from('not a tar.gz at all'));
  t.equal(notTar.status, 400, `a broken archive: 400 ${notTar.body}`);
  t.match(notTar.body, /FAASS_E_UPLOAD_INVALID.*Not a valid tar\.gz/);
  const noCode = await upload(rawTarGz([{ name: 'stack.json', body: JSON.stringify({ functions: [{ name: 'hi', input: { runtime: 'node', file: 'handler.js' }, code: 'fn/hi' }] }) }, { name: 'fn/other/handler.js', body: 'x' }]));
  t.equal(noCode.status, 400, `a manifest naming a function whose code is not there: 400 ${noCode.body}`);
  t.match(noCode.body, /functions\.hi\.code: the archive has no directory fn\/hi/);
  const asJson = await upload(Buffer.from('{}'), 'application/json');
  t.equal(asJson.status, 400, `not a tar.gz: 400 ${asJson.body}`);
  // Declares 11 MiB (max_body is 10M) and sends 1 KiB: answered from the declared length.
  const huge = await new Promise<number>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: sb.port, method: 'POST', path: '/system/stack/duo/up', agent: false, headers: { 'content-type': 'application/gzip', 'content-length': String(11 * 1024 * 1024), authorization: `Bearer ${root}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e)));
    req.write(Buffer.alloc(1024, 'x'));
  });
  t.equal(huge, 413, 'a stack upload over max_body: 413');
  t.same(await duoAnswers(), ['200 hello v2@2', '200 echo x@1'], 'the refused uploads changed nothing');
  t.match((await sb.faassctl('stack', 'versions', 'duo')).stdout, /^\* 2 /m, 'and recorded no stack version');
  t.same(fs.readdirSync(uploads), [], 'no staging directory is left behind');
  const remoteDown = await sb.faassctl(...gw, '--token', root, 'down', '-f', pyStack);
  t.equal(remoteDown.code, 0, `down --gateway ${remoteDown.stderr}`);
  t.match(remoteDown.stdout, /^delete +shout$/m);
  t.equal((await request(sb.port, '/function/shout', { body: 'x' })).status, 404, 'the python stack is gone');

  const gone = await sb.faassctl('down', '-f', file);
  t.equal(gone.code, 0, `down ${gone.stderr}`);
  for (const n of five) t.equal((await request(sb.port, `/function/${n}`, { body: '' })).status, 404, `${n} is gone`);
  t.equal((await request(sb.port, '/function/greet', { body: '{}' })).status, 200, 'another stack is left alone');
});

// What up reads is bounded: a stack file, and each environment_file, is a regular file of at most
// 1 MiB. /dev/zero, a FIFO with no writer, or a file over the bound is refused with one line
// before a byte is read (before: read whole, /dev/zero without end, a FIFO hung the open).
t.test('up reads only regular files of at most 1 MiB', async (t) => {
  const sb = await startSandbox(t);
  writeFixture(sb, 'bounded/echo/handler.js', "module.exports = async () => 'ok';\n");
  const stack = (extra = '') => `version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  echo:\n    lang: node18\n    handler: ./echo\n    image: me/echo:latest\n${extra}`;
  const oneLine = (r: { code: number; stderr: string }, what: string, re: RegExp) => {
    t.equal(r.code, 2, `${what}: exit 2`);
    t.match(r.stderr.trim(), re, `${what}: ${r.stderr}`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
  };
  oneLine(await sb.faassctl('up', '-f', '/dev/zero', '--dry-run'), '/dev/zero', /^faassctl: stack file \/dev\/zero is a character device: give a regular file \(FAASS_E_CONFIG_INVALID\)$/);
  const fifo = path.join(sb.dir, 'fixtures', 'bounded', 'fifo.yml');
  execFileSync('mkfifo', ['-m', '0644', fifo]);
  oneLine(await sb.faassctl('up', '-f', fifo, '--dry-run'), 'a FIFO with no writer', /^faassctl: stack file \S+fifo\.yml is a FIFO: give a regular file \(FAASS_E_CONFIG_INVALID\)$/);
  const big = writeFixture(sb, 'bounded/stack.yml', stack() + `# ${'x'.repeat(1024 * 1024)}\n`);
  oneLine(await sb.faassctl('up', '-f', big, '--dry-run'), 'a stack file over 1 MiB', /^faassctl: stack file \S+stack\.yml is over 1 MiB, the most faass reads \(FAASS_E_CONFIG_INVALID\)$/);
  writeFixture(sb, 'bounded/big-env.yml', `environment:\n  A: "1"\n# ${'x'.repeat(1024 * 1024)}\n`);
  const withEnv = writeFixture(sb, 'bounded/stack.yml', stack('    environment_file:\n      - big-env.yml\n      - fifo.yml\n'));
  oneLine(await sb.faassctl('up', '-f', withEnv, '--dry-run'), 'an environment_file over 1 MiB', /^faassctl: \S+stack\.yml:9:5: functions\.echo\.environment_file: environment_file \S+big-env\.yml is over 1 MiB, the most faass reads \(FAASS_E_CONFIG_INVALID\)$/);
  writeFixture(sb, 'bounded/big-env.yml', 'environment:\n  A: "1"\n');
  oneLine(await sb.faassctl('up', '-f', withEnv, '--dry-run'), 'an environment_file that is a FIFO', /environment_file \S+fifo\.yml is a FIFO: give a regular file \(FAASS_E_CONFIG_INVALID\)$/);
  const fine = await sb.faassctl('up', '-f', writeFixture(sb, 'bounded/stack.yml', stack('    environment_file:\n      - big-env.yml\n')), '--dry-run');
  t.equal(fine.code, 0, `a regular file under the bound is read ${fine.stderr}`);
  t.match(fine.stdout, /^create +echo$/m);

  // A dry run checks what the up would refuse: a secret the stack names that does not exist.
  const secretStack = writeFixture(sb, 'bounded/stack.yml', stack('    secrets:\n      - db-password\n'));
  const dry = await sb.faassctl('up', '-f', secretStack, '--dry-run');
  t.equal(dry.code, 3, `a dry run naming a missing secret: exit 3, as the up ${dry.stdout}`);
  t.match(dry.stdout, /^create +echo\n(?: {4}.*\n)* {4}error: Function echo names a secret that does not exist: db-password \(create it with faassctl secret create NAME\)$/m, 'the plan says it at the function');
  t.match(dry.stderr.trim().split('\n').pop(), /^faassctl: Dry run: the up would be refused \(echo: see error above\); nothing changed \(FAASS_E_SECRET_NOT_FOUND\)$/, 'its last line on stderr (after what faass ignores)');
  const real = await sb.faassctl('up', '-f', secretStack);
  t.equal(real.code, 3, `the up itself: refused the same ${real.stderr}`);
  t.equal((await sb.faassctl('describe', 'echo')).code, 3, 'nothing was deployed');
  t.equal((await sb.run(process.execPath, [sb.faassctlPath, 'secret', 'create', 'db-password'], { input: 'hunter2' })).code, 0);
  const ok = await sb.faassctl('up', '-f', secretStack, '--dry-run');
  t.equal(ok.code, 0, `once it exists, the dry run passes ${ok.stderr}`);
  t.notMatch(ok.stdout, /error:/, 'with no error in its plan');
});

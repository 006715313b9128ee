// No loops (issue 14): a function of a file drop writes its output into its call's outbox
// (context.outbox, FAASS_OUTBOX), and each file there is a call one link further; a function
// that writes a file on every call stops after the drop's chain limit, with a dead letter and
// one journal line, the path unit still waiting (no trigger-limit spin) and no outbox left open.
// As an ordinary user, as faass runs on a real host.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { userDir, sideDir, testUid } from '../support/side-dir';
import { startSandbox, setupGateway, writeFixture, waitFor, request, TEST_USER, Sandbox } from '../support/sandbox';
import { sandboxJournal } from '../support/journal';




const lines = (file: string): string[][] => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '').split('\n').filter(Boolean).map((l) => l.split(' '));
const list = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

// A node handler that writes one file into its outbox on every call: a loop but for the limit.
const nodeLoop = (log: string) => `const fs = require('fs');
const path = require('path');
module.exports.handler = async (event, context) => {
  const depth = event.headers['x-faass-chain-depth'] || '0';
  fs.appendFileSync(${JSON.stringify(log)}, depth + ' ' + context.callId + ' ' + (context.outbox || '-') + '\\n');
  fs.writeFileSync(path.join(context.outbox, 'next-' + depth + '.txt'), 'from depth ' + depth);
  return 'ok';
};
`;

// The same in a shell script, through FAASS_OUTBOX.
const execLoop = (log: string) => `#!/bin/sh
cat >/dev/null
echo "\${Http_X_Faass_Chain_Depth:-0} $FAASS_OUTBOX" >> ${log}
printf 'again\\n' > "$FAASS_OUTBOX/again-\${Http_X_Faass_Chain_Depth:-0}"
echo ok
`;

// This sandbox's lines of the unit (the lines are also told by this run's inbox, which they name).
const journal = (sb: Sandbox, unit: string) => sandboxJournal(sb, `--user-unit=${unit}`);

t.test('chains of calls through outboxes', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 60);
  const state = sb.env.XDG_STATE_HOME as string;
  const deadLetters = (fn: string) => list(path.join(state, 'faass', 'queue', fn, 'dead')).filter((f) => f.endsWith('.call'));

  t.test('a node function writing a file on every call stops after chain_limit=3: three calls, one dead letter, one line', async (t) => {
    const inbox = userDir(sb, 'inbox');
    const log = path.join(await sideDir(sb, 'loop'), 'calls');
    const area = (sub: string) => path.join(inbox, '.faass', sub);
    const handler = writeFixture(sb, 'loop.js', nodeLoop(log));
    t.equal((await sb.faassctl('deploy', 'loop', '--runtime', 'node', '--from-file', handler, '--retries', '0', '--idle', '10min')).code, 0);
    const added = await sb.faassctl('trigger', 'add', 'loop', '--watch', inbox, '--id', 'in', '--chain-limit', '3');
    t.equal(added.code, 0, added.stderr);
    t.match(added.stdout, /up to a chain of 3/);
    fs.writeFileSync(path.join(inbox, '.seed.part'), 'seed');
    fs.chownSync(path.join(inbox, '.seed.part'), testUid(), -1);
    const started = Date.now();
    fs.renameSync(path.join(inbox, '.seed.part'), path.join(inbox, 'seed'));

    // The chain ends when the third call's file is stopped: in failed/, its dead letter written.
    await waitFor('the dead letter of the fourth link', () => deadLetters('loop').length > 0 && list(area('failed')).some((f) => f.endsWith('-next-3.txt')), 120000);
    t.comment(`a file dropped to the dead letter of its fourth link: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const calls = lines(log);
    t.same(calls.map((c) => c[0]), ['1', '2', '3'], 'exactly three calls, at depths 1, 2 and 3');
    t.ok(calls.every((c) => c[2] === path.join(inbox, '.faass', 'in', `.open-${Number(c[0]) + 1}-${c[1]}`)), 'each handed an open outbox one link deeper, named by its call');
    await waitFor('the first three files settled', () => list(area('done')).length === 3, 60000);
    t.same(list(area('done')).map((f) => f.split('-').slice(2).join('-')).sort(), ['next-1.txt', 'next-2.txt', 'seed'], 'the dropped file and the two written at depth 1 and 2 were calls');
    t.same(list(area('failed')).map((f) => f.split('-').slice(2).join('-')), ['next-3.txt'], 'the one written at depth 3 was not');
    t.equal(deadLetters('loop').length, 1, 'one dead letter');
    const dlq = await sb.faassctl('dlq', 'loop');
    t.match(dlq.stdout, /attempt 1 at \S+: FAASS_E_CHAIN_LIMIT: chain depth 4 is past the chain_limit 3 of file drop in/, 'faassctl dlq says why');
    const stopLines = async () => (await journal(sb, 'faass-fn-loop-at-in.service')).split('\n').filter((l) => l.includes('FAASS_E_CHAIN_LIMIT') && l.includes(inbox));
    await waitFor('the journal line', async () => (await stopLines()).length > 0, 90000); // journald on a loaded machine can lag
    const said = await stopLines();
    t.equal(said.length, 1, 'one journal line', { said });
    t.match(said[0], /drop=in function=loop file ".*\/\.faass\/in\/4-[^/]+\/next-3\.txt" at chain depth 4 is past chain_limit=3: no call/, 'naming the function, the drop, the file, its depth and the limit');
    t.equal((await sb.systemctl('is-active', 'faass-fn-loop-at-in.path')).stdout.trim(), 'active', 'the path unit waits on: it did not hit its trigger limit');
    t.same(list(area('in')), [], 'no outbox left, open or closed');
    t.same(list(area('processing')), [], 'nothing left in processing/');
  });

  t.test('an exec function through FAASS_OUTBOX: an HTTP call starts a chain at depth 1', async (t) => {
    const inbox = userDir(sb, 'inbox2');
    const log = path.join(await sideDir(sb, 'ex'), 'calls');
    t.equal((await sb.faassctl('deploy', 'ex', '--runtime', 'exec', '--from-file', writeFixture(sb, 'ex.sh', execLoop(log), 0o755), '--retries', '0', '--idle', '10min')).code, 0);
    t.equal((await sb.faassctl('trigger', 'add', 'ex', '--watch', inbox, '--id', 'out', '--chain-limit', '2')).code, 0);
    const r = await request(sb.port, '/function/ex', { method: 'POST', body: 'go' });
    t.equal(r.status, 200);
    const callId = String(r.headers['x-call-id']);
    await waitFor('the chain to stop', () => deadLetters('ex').length > 0, 120000);
    const calls = lines(log);
    t.same(calls.map((c) => c[0]), ['0', '1', '2'], 'the HTTP call (no depth), then depths 1 and 2: chain_limit=2');
    t.equal(calls[0][1], path.join(inbox, '.faass', 'in', `.open-1-${callId}`), 'FAASS_OUTBOX of the HTTP call');
    t.match((await sb.faassctl('dlq', 'ex')).stdout, /FAASS_E_CHAIN_LIMIT: chain depth 3 is past the chain_limit 2 of file drop out/);
    const stopLines = async () => (await journal(sb, 'faass-fn-ex-at-out.service')).split('\n').filter((l) => l.includes('FAASS_E_CHAIN_LIMIT') && l.includes(inbox));
    await waitFor('the journal line', async () => (await stopLines()).length > 0, 90000); // journald on a loaded machine can lag
    const exSaid = await stopLines();
    t.equal(exSaid.length, 1, 'one journal line', { said: exSaid });
    await waitFor('the outboxes claimed', () => list(path.join(inbox, '.faass', 'in')).length === 0, 60000);
    t.equal((await sb.systemctl('is-active', 'faass-fn-ex-at-out.path')).stdout.trim(), 'active');
  });

  t.test('an outbox left read-only, or with a read-only directory in it, is refused, not a drop failing on every run', async (t) => {
    // Moving a directory to another parent needs write permission on it; an ordinary user (not
    // root, as here) is asked. The function makes both kinds in its outbox.
    const inbox = userDir(sb, 'inbox3');
    const script = `#!/bin/sh\ncat >/dev/null\nmkdir "$FAASS_OUTBOX/ro" && echo x > "$FAASS_OUTBOX/ro/inner" && chmod 500 "$FAASS_OUTBOX/ro"\nchmod 500 "$FAASS_OUTBOX"\necho ok\n`;
    t.equal((await sb.faassctl('deploy', 'rox', '--runtime', 'exec', '--from-file', writeFixture(sb, 'rox.sh', script, 0o755), '--idle', '10min')).code, 0);
    t.equal((await sb.faassctl('trigger', 'add', 'rox', '--watch', inbox, '--id', 'ro')).code, 0);
    t.equal((await request(sb.port, '/function/rox', { method: 'POST', body: 'go' })).status, 200);
    const failed = path.join(inbox, '.faass', 'failed');
    await waitFor('the read-only directory refused into failed/', () => list(failed).some((e) => e.endsWith('-ro')), 60000);
    await waitFor('in/ and outboxes/ emptied', () => list(path.join(inbox, '.faass', 'in')).length === 0 && list(path.join(inbox, '.faass', 'outboxes')).length === 0, 60000);
    t.pass('the outbox was taken and emptied');
    t.not((await sb.systemctl('is-failed', 'faass-fn-rox-at-ro.service')).stdout.trim(), 'failed', "the drop's run did not fail");
    t.equal((await sb.systemctl('is-active', 'faass-fn-rox-at-ro.path')).stdout.trim(), 'active', 'its path unit still waits');
  });
});

// A call's outbox (issue 14, "no loops"): the depth a call's files start at, the outbox names the
// runner makes and the drop reads, the runner's environment, and the runner opening and closing
// one around a real exec call (a process writing into $FAASS_OUTBOX).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chainDepth, closedName, inboxFor, openName, outboxDepth, parseClosed, parseDropInboxes, renderDropInboxes, MAX_DEPTH } from '../../src/functions/outbox';
import { Outboxes } from '../../src/runner/outboxes';
import { CallRunner } from '../../src/runner/runner';
import { ExecExecutor } from '../../src/runner/exec-executor';
import { buildFunctionConfig } from '../../src/functions/function-config';

t.test("depth: an HTTP call's files start a chain at 1, a drop call's one link further", async (t) => {
  t.equal(outboxDepth(chainDepth(undefined)), 1, 'no header: an HTTP call (depth 0), its files at 1');
  t.equal(outboxDepth(chainDepth('1')), 2);
  t.equal(outboxDepth(chainDepth(' 7 ')), 8);
  t.equal(chainDepth('x'), MAX_DEPTH, 'a header faass did not write: past every limit (fails closed)');
  t.equal(chainDepth('1e3'), MAX_DEPTH);
  t.equal(chainDepth('-1'), MAX_DEPTH);
  t.equal(outboxDepth(MAX_DEPTH), MAX_DEPTH, 'bounded');
});

t.test('outbox names: hidden while open, DEPTH-CALLID once closed; nothing else parses', async (t) => {
  t.equal(openName(3, 'abc-1'), '.open-3-abc-1');
  t.equal(closedName(3, 'abc-1'), '3-abc-1');
  t.same(parseClosed('3-abc-1'), { depth: 3, callId: 'abc-1' });
  t.same(parseClosed(closedName(101, '0f1e2d3c-aaaa-bbbb-cccc-0123456789ab')), { depth: 101, callId: '0f1e2d3c-aaaa-bbbb-cccc-0123456789ab' });
  for (const bad of ['.open-3-abc', 'abc', '3-', '-abc', '1000-abc', '3-a/b', '3-a b', `3-${'x'.repeat(129)}`]) t.equal(parseClosed(bad), null, `${JSON.stringify(bad)}: no outbox`);
});

t.test("the runner's environment: each drop's inbox, and which one a call writes to", async (t) => {
  const drops = [
    { id: 'a', inbox: '/srv/a/.faass/in' },
    { id: 'b2', inbox: '/srv/b$x/.faass/in' },
  ];
  t.same(parseDropInboxes(renderDropInboxes(drops)), drops, 'read back as written');
  t.same(parseDropInboxes('a:/x junk b:relative :/y'), [{ id: 'a', inbox: '/x' }], 'an entry the units never write is skipped');
  t.same(parseDropInboxes(undefined), []);
  t.equal(inboxFor(drops, { 'x-faass-trigger': 'file', 'x-faass-trigger-id': 'b2' })?.id, 'b2', "a drop's call: that drop's");
  t.equal(inboxFor(drops, {})?.id, 'a', 'an HTTP call: the first');
  t.equal(inboxFor(drops, { 'x-faass-trigger': 'schedule', 'x-faass-trigger-id': 'b2' })?.id, 'a', "a schedule's id is no drop's");
  t.equal(inboxFor([], {}), null, 'no drop: no outbox');
});

function setup(t: { teardown(f: () => void): void }, command: string, timeout = '5s') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-outbox-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const inbox = path.join(dir, '.faass', 'in');
  fs.mkdirSync(inbox, { recursive: true });
  const cfg = buildFunctionConfig('fn', { runtime: 'exec', command, timeout });
  const runner = new CallRunner(cfg, new ExecExecutor(cfg, dir), false, new Outboxes('fn', [{ id: 'in', inbox }]));
  return { inbox, runner };
}

const call = (headers: Record<string, string>) => ({ method: 'POST', url: '/', headers, body: Buffer.alloc(0) });

t.test('exec: FAASS_OUTBOX is an open outbox; the call ends with it in view, whole, at its depth', async (t) => {
  const { inbox, runner } = setup(t, `sh -c 'printf one > "$FAASS_OUTBOX/a.txt"; ls -a "$FAASS_OUTBOX/.." | grep -c "^\\.open-" ; echo "$FAASS_OUTBOX"'`);
  const r = await runner.run(call({ 'x-call-id': 'c1', 'x-faass-trigger': 'file', 'x-faass-trigger-id': 'in', 'x-faass-chain-depth': '2' }));
  t.equal(r.status, 200);
  const [open, given] = r.body.toString().trim().split('\n');
  t.equal(open, '1', 'open while the call ran');
  t.equal(given, path.join(inbox, '.open-3-c1'), 'hidden, one link deeper than the call');
  t.same(fs.readdirSync(inbox), ['3-c1'], 'closed: renamed into view, nothing left open');
  t.equal(fs.readFileSync(path.join(inbox, '3-c1', 'a.txt'), 'utf8'), 'one');
});

t.test("a call id's next outbox while its last one waits unclaimed (a retried async call, or a client's repeated X-Call-Id)", async (t) => {
  const { inbox, runner } = setup(t, `sh -c 'printf x > "$FAASS_OUTBOX/f.txt"'`);
  const headers = { 'x-call-id': 'same', 'x-faass-trigger': 'file', 'x-faass-trigger-id': 'in', 'x-faass-chain-depth': '1' };
  await runner.run(call(headers)); // attempt 1: its outbox closed, not claimed yet
  await runner.run(call(headers)); // attempt 2
  await Promise.all([runner.run(call(headers)), runner.run(call(headers))]); // two at once
  t.same(fs.readdirSync(inbox).sort(), ['2-same', '2-same~2', '2-same~3', '2-same~4'], 'each closed apart, none left hidden');
  for (const d of fs.readdirSync(inbox)) t.same(fs.readdirSync(path.join(inbox, d)), ['f.txt'], `${d}: its file`);
  t.same(parseClosed('2-same~3'), { depth: 2, callId: 'same' }, 'the drop reads them as outboxes of that call');
});

t.test('a call that writes nothing leaves nothing; a failed one closes its outbox too', async (t) => {
  const quiet = setup(t, 'true');
  t.equal((await quiet.runner.run(call({ 'x-call-id': 'c2' }))).status, 200);
  t.same(fs.readdirSync(quiet.inbox), [], 'empty: removed');
  const failing = setup(t, `sh -c 'echo x > "$FAASS_OUTBOX/f"; exit 3'`);
  t.equal((await failing.runner.run(call({ 'x-call-id': 'c3' }))).status, 500);
  t.same(fs.readdirSync(failing.inbox), ['1-c3'], 'an HTTP call (no depth header): its files at depth 1');
});

t.test('a call past its timeout: its outbox is closed all the same', async (t) => {
  const { inbox, runner } = setup(t, `sh -c 'echo x > "$FAASS_OUTBOX/f"; exec sleep 30'`, '1s');
  t.equal((await runner.run(call({ 'x-call-id': 'c4' }))).status, 504);
  t.same(fs.readdirSync(inbox), ['1-c4']);
});

t.test('no inbox to write: the call runs without an outbox', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-outbox-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cfg = buildFunctionConfig('fn', { runtime: 'exec', command: `sh -c 'echo "[$FAASS_OUTBOX]"'` });
  const runner = new CallRunner(cfg, new ExecExecutor(cfg, dir), false, new Outboxes('fn', [{ id: 'in', inbox: path.join(dir, 'missing') }]));
  const r = await runner.run(call({ 'x-call-id': 'c5' }));
  t.equal(r.status, 200);
  t.equal(r.body.toString(), '[]\n');
});

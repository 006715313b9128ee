// The gateway's side of a canary (src/gateway/canaries.ts), driven in-process against temporary
// XDG directories with a fake clock: what its state file makes of routing after an abort, a
// restart (a new Canaries, as a gateway after its idle exit), a file it cannot read or write.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Paths, canaryRoutePath, canaryStatePath, resolvePaths } from '../../src/core/paths';
import { buildCanaryRoute, renderCanaryRoute, CanaryInput } from '../../src/functions/canary-spec';
import { Canaries } from '../../src/gateway/canaries';

function tempPaths(t: { teardown(f: () => void): void }): Paths {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-canary-state-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return resolvePaths({ HOME: dir, XDG_CONFIG_HOME: `${dir}/config`, XDG_DATA_HOME: `${dir}/data`, XDG_STATE_HOME: `${dir}/state`, XDG_RUNTIME_DIR: `${dir}/run` });
}

// The route faassctl deploy --canary writes last.
function route(paths: Paths, input: Partial<CanaryInput> = {}, version = 2, started = '2024-01-01T00:00:00.000Z'): void {
  const file = canaryRoutePath(paths, 'f');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, renderCanaryRoute(buildCanaryRoute({ percent: '99.99', ...input }, version, started)));
}

// The gateway's log lines go to stderr outside a unit: kept out of tap's output, and looked at.
function quiet(t: { teardown(f: () => void): void }): string[] {
  const lines: string[] = [];
  const err = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (lines.push(String(s)), true)) as typeof process.stderr.write;
  t.teardown(() => void (process.stderr.write = err));
  return lines;
}

// n calls sent to the canary (share 99.99%: every one), `failing` of them failing.
function calls(c: Canaries, n: number, failing: number): number {
  let sent = 0;
  for (let i = 0; i < n; i++) {
    const p = c.pick('f', {}, 1);
    if (!p) continue;
    sent++;
    p.done(i < failing);
  }
  return sent;
}

t.test('an abort the gateway could not write down: the canary gets no call, before or after a restart', async (t) => {
  const paths = tempPaths(t);
  const lines = quiet(t);
  route(paths, { maxErrors: '20%', minCalls: '5' });
  // A directory nobody may write, root included (the tests run as root): the state file's.
  fs.mkdirSync(paths.stateDir, { recursive: true });
  fs.symlinkSync('/proc/self/fdinfo', path.dirname(canaryStatePath(paths, 'f')));
  const now = 1_700_000_000_000;
  const first = new Canaries(paths, () => now);
  const sent = calls(first, 10, 10);
  first.close();
  const again = new Canaries(paths, () => now + 1000); // the gateway after its idle exit
  t.equal(sent + calls(again, 10, 0), 0, 'no call went to a canary whose abort could not be made to last');
  t.match(lines.join(''), /canary of f.*no call goes to it/i, 'and the gateway says why');
});

t.test('a state file that does not parse: the canary gets no call (fail closed)', async (t) => {
  const paths = tempPaths(t);
  const lines = quiet(t);
  route(paths, { maxErrors: '20%' });
  fs.mkdirSync(path.dirname(canaryStatePath(paths, 'f')), { recursive: true });
  fs.writeFileSync(canaryStatePath(paths, 'f'), '{"version": 2, "started": "2024-01-01T00:00:00.000Z", "abor');
  t.equal(calls(new Canaries(paths), 20, 0), 0, 'not one call');
  t.match(lines.join(''), /canary of f.*no call goes to it/i, 'and the gateway says why');
});

t.test("a new canary after an aborted one: the old abort stops neither it nor is forgotten for the old", async (t) => {
  const paths = tempPaths(t);
  quiet(t);
  route(paths, { maxErrors: '20%', minCalls: '5' }, 2, 'first');
  const now = 1_700_000_000_000;
  const gw = new Canaries(paths, () => now);
  calls(gw, 10, 10);
  t.equal(calls(gw, 10, 0), 0, 'aborted: no more calls');
  t.equal(calls(new Canaries(paths, () => now), 10, 0), 0, 'nor after a restart');
  route(paths, { maxErrors: '20%', minCalls: '5' }, 3, 'second');
  t.equal(calls(new Canaries(paths, () => now), 10, 0), 10, 'the next canary gets its calls');
  t.equal(calls(gw, 10, 0), 10, 'in the gateway that aborted the first one too');
});

t.test("the window outlives the gateway's idle exit: a long window is judged on all its calls", async (t) => {
  const paths = tempPaths(t);
  quiet(t);
  route(paths, { maxErrors: '20%', minCalls: '5', window: '1h' });
  const t0 = 1_700_000_000_000;
  const first = new Canaries(paths, () => t0);
  t.equal(calls(first, 4, 4), 4, 'four calls, four failures: fewer than the minimum');
  first.close(); // its idle exit
  const second = new Canaries(paths, () => t0 + 30_000);
  t.equal(calls(second, 1, 1), 1, 'a fifth failure, in the next gateway process');
  t.equal(calls(second, 10, 0), 0, 'five of five in the hour: aborted');
  route(paths, { maxErrors: '20%', minCalls: '5', window: '1min' }, 3, 'later');
  const third = new Canaries(paths, () => t0);
  calls(third, 4, 4);
  third.close();
  const fourth = new Canaries(paths, () => t0 + 61_000);
  t.equal(calls(fourth, 1, 1) + calls(fourth, 10, 0), 11, 'failures older than the window are not carried over');
});

t.test('an empty sticky header is no header: its calls are split by the share, not all sent one way', async (t) => {
  const paths = tempPaths(t);
  quiet(t);
  route(paths, { percent: '50', header: 'X-User' });
  const c = new Canaries(paths);
  let canary = 0;
  for (let i = 0; i < 400; i++) if (c.pick('f', { 'x-user': '' }, 1)) canary++;
  t.ok(canary > 100 && canary < 300, `${canary} of 400 calls with an empty X-User went to the canary at 50%`);
  const alice = Array.from({ length: 20 }, () => c.pick('f', { 'x-user': 'alice' }, 1) !== null);
  t.ok(alice.every((v) => v === alice[0]), 'a value still lands on one side');
});

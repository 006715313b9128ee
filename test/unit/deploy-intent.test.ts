// A killed deploy's intent: which are interrupted (their process is gone), and whether each is
// finished (the function's file is the one it wrote) or undone (its staged code dropped).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolvePaths, Paths, functionConfPath, functionCodeDir, canaryConfPath, canaryRoutePath } from '../../src/core/paths';
import { readRecord, writeRecord } from '../../src/functions/versions';
import { buildCanaryRoute, renderCanaryRoute } from '../../src/functions/canary-spec';
import { beginDeploy, aboutToCommit, endDeploy, abandonDeploy, decide, interruptedDeploys, recoverFiles, processStart, digest, Intent } from '../../src/functions/deploy-intent';
import { stageCode, emptyVersion, switchVersion, versionPath, versionsDir, newVersionId } from '../../src/functions/code-versions';

function tempPaths(t: { teardown(f: () => void): void }): Paths {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-intent-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return resolvePaths({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), XDG_STATE_HOME: path.join(dir, 'state') });
}

const intent = (over: Partial<Intent> = {}): Intent => ({ name: 'f', pid: 1, start: '1', version: 'v1', config: null, ...over });
const writeConf = (paths: Paths, name: string, text: string) => {
  fs.mkdirSync(path.dirname(functionConfPath(paths, name)), { recursive: true });
  fs.writeFileSync(functionConfPath(paths, name), text);
};

t.test('decide: finish only when the file on disk is the one the deploy wrote', async (t) => {
  t.equal(decide(intent(), 'command = cat\n'), 'undo', 'not committed yet: undo');
  t.equal(decide(intent({ config: digest('command = cat\n') }), null), 'undo', 'committing, no file yet: undo');
  t.equal(decide(intent({ config: digest('command = cat\n') }), 'command = tr\n'), 'undo', 'the old file: undo');
  t.equal(decide(intent({ config: digest('command = cat\n') }), 'command = cat\n'), 'finish', 'its file: finish');
});

t.test('processStart tells a live process from a gone one', async (t) => {
  t.match(processStart(process.pid), /^\d+$/, 'this process: its start time');
  t.equal(processStart(0), null, 'pid 0 is no process');
  t.equal(processStart(2 ** 22 + 1), null, 'beyond pid_max: gone');
});

t.test('interruptedDeploys: only those whose process is gone (or is another with the same PID)', async (t) => {
  const paths = tempPaths(t);
  t.same(interruptedDeploys(paths), [], 'none without the directory');
  const mine = beginDeploy(paths, 'live', null);
  t.same(interruptedDeploys(paths), [], 'a deploy still running is left alone');
  t.same(interruptedDeploys(paths, () => 'another start').map((i) => i.name), ['live'], 'the PID reused by another process: interrupted');
  t.same(interruptedDeploys(paths, () => null).map((i) => i.name), ['live'], 'the process gone: interrupted');
  t.same(interruptedDeploys(paths, () => {
    throw new Error('EACCES');
  }), [], 'cannot tell: left alone');
  abandonDeploy(paths, mine);
  t.same(interruptedDeploys(paths).map((i) => [i.name, i.pid]), [['live', 0]], 'abandoned (failed past its commit point): the next command takes it');
  endDeploy(paths, { ...mine, pid: 0, start: '' });
  t.same(interruptedDeploys(paths), [], 'ended');
});

t.test('one deploy of a name at a time: a live one refuses the next, a gone one is taken over', async (t) => {
  const paths = tempPaths(t);
  const first = beginDeploy(paths, 'f', 'a');
  t.throws(() => beginDeploy(paths, 'f', 'b'), { code: 'FAASS_E_DEPLOY_BUSY', message: /f is being deployed or rolled back by process \d+/ }, 'the first still runs (even in this process): the second is refused');
  t.same(interruptedDeploys(paths, () => null).map((i) => i.version), ['a'], "and the first's intent stays");
  const other = beginDeploy(paths, 'g', null);
  t.equal(other.name, 'g', 'another function is not held up');
  const second = beginDeploy(paths, 'f', 'b', () => null);
  t.equal(second.version, 'b', 'the first gone (its recovery failed): the next deploy takes its place');
  endDeploy(paths, first);
  t.same(interruptedDeploys(paths, () => null).map((i) => i.version).sort(), ['b', null].sort(), "the first's endDeploy leaves the second's intent alone");
  endDeploy(paths, second);
  endDeploy(paths, other);
  t.same(interruptedDeploys(paths, () => null), []);
  t.same(fs.readdirSync(path.join(paths.stateDir, 'deploying')), [], 'no temporary or moved-aside file is left');
});

t.test('recoverFiles: a first deploy killed before its file was written is undone, no directory left', async (t) => {
  const paths = tempPaths(t);
  const src = path.join(paths.xdg.data, 'h.sh');
  fs.mkdirSync(path.dirname(src), { recursive: true });
  fs.writeFileSync(src, 'echo hi\n');
  const i = beginDeploy(paths, 'f', newVersionId());
  stageCode(paths, 'f', src, i.version as string);
  aboutToCommit(paths, i, 'file = h.sh\n');
  t.equal(recoverFiles(paths, i), 'undo');
  t.notOk(fs.existsSync(versionsDir(paths, 'f')), 'its staged code is gone');
  t.notOk(fs.existsSync(functionCodeDir(paths, 'f')), 'no code link');
});

// A function with a running version (old) and an update of it begun and staged (i).
function updateUnderway(t: { teardown(f: () => void): void }) {
  const paths = tempPaths(t);
  const old = emptyVersion(paths, 'f', newVersionId());
  switchVersion(paths, 'f', old);
  writeConf(paths, 'f', 'command = old\n');
  const i = beginDeploy(paths, 'f', newVersionId());
  emptyVersion(paths, 'f', i.version as string);
  return { paths, old, i };
}

t.test('recoverFiles: an update killed after its file was written switches to its code', async (t) => {
  const { paths, old, i } = updateUnderway(t);
  aboutToCommit(paths, i, 'command = new\n');
  writeConf(paths, 'f', 'command = new\n'); // then killed
  t.equal(recoverFiles(paths, i), 'finish');
  t.equal(fs.realpathSync(functionCodeDir(paths, 'f')), fs.realpathSync(versionPath(paths, 'f', i.version as string)), 'the code link points at its version');
  t.equal(recoverFiles(paths, i), 'finish', 'again (a recovery killed in turn): the same');
});

t.test('recoverFiles: an update killed before its file was written keeps the old code and file', async (t) => {
  const { paths, old, i } = updateUnderway(t);
  fs.mkdirSync(`${versionPath(paths, 'f', i.version as string)}.tmp`);
  aboutToCommit(paths, i, 'command = new\n'); // then killed
  t.equal(recoverFiles(paths, i), 'undo');
  t.same(fs.readdirSync(versionsDir(paths, 'f')), [old], 'only the old version is left');
  t.equal(fs.realpathSync(functionCodeDir(paths, 'f')), fs.realpathSync(versionPath(paths, 'f', old)), 'and the link points at it');
  t.equal(fs.readFileSync(functionConfPath(paths, 'f'), 'utf8'), 'command = old\n', 'the file is untouched');
});

// A canary deploy (canary.ts) killed before its route was written: the next command removes its
// settings file (so its units go), its record and its code; the function keeps its own.
t.test('recoverFiles: a canary deploy killed before its route is undone; one past it is finished', async (t) => {
  const { paths, old, i } = updateUnderway(t);
  const canary: Intent = { ...i, canary: true, record: 2 };
  const record = { number: 2, time: 'x', who: 'u', via: 'local' as const, code: i.version as string, codeDigest: 'c', settingsDigest: 's', message: '', settings: 'command = new\n' };
  writeRecord(paths, 'f', record);
  fs.mkdirSync(path.dirname(canaryConfPath(paths, 'f')), { recursive: true });
  fs.writeFileSync(canaryConfPath(paths, 'f'), 'command = new\n'); // then killed (its units written too)
  t.equal(recoverFiles(paths, canary), 'undo');
  t.notOk(fs.existsSync(canaryConfPath(paths, 'f')), 'its settings file is gone (so are its units, at the units step)');
  t.equal(readRecord(paths, 'f', 2), null, 'its version record is gone');
  t.same(fs.readdirSync(versionsDir(paths, 'f')), [old], 'its code is gone');
  t.equal(fs.readFileSync(functionConfPath(paths, 'f'), 'utf8'), 'command = old\n', "the function's file is untouched");

  // Past its commit point (the route names its version): nothing is removed.
  emptyVersion(paths, 'f', i.version as string);
  writeRecord(paths, 'f', record);
  fs.writeFileSync(canaryConfPath(paths, 'f'), 'command = new\n');
  fs.writeFileSync(canaryRoutePath(paths, 'f'), renderCanaryRoute(buildCanaryRoute({ percent: '10%' }, 2, 'now')));
  t.equal(recoverFiles(paths, canary), 'finish');
  t.ok(fs.existsSync(canaryConfPath(paths, 'f')) && readRecord(paths, 'f', 2) !== null && fs.existsSync(versionPath(paths, 'f', i.version as string)), 'its file, record and code stay');
  // Refused beside another canary (its route names another version): that one's files stay.
  t.equal(recoverFiles(paths, { ...canary, record: undefined, version: null }), 'undo');
  t.ok(fs.existsSync(canaryConfPath(paths, 'f')) && fs.existsSync(canaryRoutePath(paths, 'f')), "the running canary's files stay");
});
